package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// valueRange is what ComfyUI's node definitions accept for a numeric point.
type valueRange struct {
	min, max float64
	text     string // the range as written in messages
}

// pointRanges are the ranges of the numeric points, the same for every
// class that carries them; the seed, which float64 cannot hold exactly, is
// checked apart.
var pointRanges = map[string]valueRange{
	PointSteps:     {1, maxSteps, "1…10000"},
	PointCFG:       {0, maxCFG, "0…100"},
	PointGuidance:  {0, maxCFG, "0…100"},
	PointWidth:     {minSize, maxSize, "16…16384"},
	PointHeight:    {minSize, maxSize, "16…16384"},
	PointBatchSize: {1, maxBatch, "1…4096"},
}

// maxValueText bounds how much of a bad value a message quotes.
const maxValueText = 40

// valueProblems reports the template values that ComfyUI would refuse:
// values of numeric points that are not numbers or are out of range, and
// sampler or scheduler names that are not strings.
func valueProblems(p Point) Problems {
	check := checkValue
	switch _, numeric := pointRanges[p.Name]; {
	case namePoints[p.Name]:
		check = checkName
	case !numeric && p.Name != PointSeed:
		return nil
	}
	var probs Problems
	for _, t := range p.Targets {
		if why := check(p.Name, t.Value); why != "" {
			probs = append(probs, Problem{"workflow_json", fmt.Sprintf("%s: %s is %s, %s",
				p.Name, t.Ref(), shortValue(t.Value), why)})
		}
	}
	return probs
}

// checkValue says why raw is no valid value for the numeric point, or
// returns "" when it is.
func checkValue(point string, raw json.RawMessage) string {
	if k := kindOf(raw); k != "a number" {
		return fmt.Sprintf("%s, not a number", k)
	}
	text := string(raw)
	if point == PointSeed {
		return checkSeed(text)
	}
	r := pointRanges[point]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return "not a number" // the JSON grammar rules this out
	}
	if !(f >= r.min && f <= r.max) { // ErrRange gives ±Inf or 0, both judged here
		return "outside ComfyUI's range " + r.text
	}
	return ""
}

// checkName says why raw is no valid value for a name point (sampler,
// scheduler), or returns "" when it is; which names exist is ComfyUI's to
// judge.
func checkName(_ string, raw json.RawMessage) string {
	if k := kindOf(raw); k != "a string" {
		return fmt.Sprintf("%s, not a string", k)
	}
	return ""
}

// checkSeed accepts 0 … 2^64-1, written as an integer or as a float.
func checkSeed(text string) string {
	const out = "outside ComfyUI's range 0…18446744073709551615"
	if _, err := strconv.ParseUint(text, 10, 64); err == nil {
		return ""
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || !(f >= 0 && f < 1<<64) {
		return out
	}
	return ""
}

// shortValue quotes a value for a message, cut when long.
func shortValue(raw json.RawMessage) string {
	if r := []rune(string(raw)); len(r) > maxValueText {
		return string(r[:maxValueText-1]) + "…"
	}
	return string(raw)
}
