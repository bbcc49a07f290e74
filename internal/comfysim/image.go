package comfysim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/png"
)

// renderPNG draws a cheap picture that depends only on key: a two-axis
// gradient between colours taken from the key, crossed by rings around a
// point taken from the key. Same key, same bytes: the encoder is
// deterministic and nothing else goes in.
func renderPNG(w, h int, key [32]byte) ([]byte, error) {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c0 := [3]int{int(key[0]), int(key[1]), int(key[2])}
	c1 := [3]int{int(key[3]), int(key[4]), int(key[5])}
	c2 := [3]int{int(key[6]), int(key[7]), int(key[8])}
	cx := int(binary.BigEndian.Uint16(key[9:])) % max(w, 1)
	cy := int(binary.BigEndian.Uint16(key[11:])) % max(h, 1)
	period := 16 + int(key[13])%48
	wd, hd := max(w-1, 1), max(h-1, 1)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		dy := y - cy
		for x := range w {
			dx := x - cx
			ring := isqrt(dx*dx+dy*dy) / period % 2
			p := row[x*4:]
			for i := range 3 {
				v := c0[i] + (c1[i]-c0[i])*x/wd + (c2[i]-c0[i])*y/hd/2
				if ring == 1 {
					v = 255 - v
				}
				p[i] = byte(min(max(v, 0), 255))
			}
			p[3] = 255
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// isqrt is the integer square root, good enough for drawing rings.
func isqrt(n int) int {
	if n < 2 {
		return n
	}
	x := n
	y := (x + 1) / 2
	for y < x {
		x = y
		y = (x + n/x) / 2
	}
	return x
}

// imageKey mixes the signature of the decoded image with its index in the
// batch, so every image of a batch differs.
func imageKey(sig string, index int) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	return sha256.Sum256(append([]byte(sig), b[:]...))
}
