package api

import (
	"hash/fnv"
	"strconv"

	"github.com/atelier-dev/atelier/internal/comfyui"
)

// PoolInventory answers Inventory from a ComfyUI pool.
type PoolInventory struct {
	Pool *comfyui.Pool
}

// ModelMissing implements Inventory.
func (p PoolInventory) ModelMissing(file string) string {
	return p.missing(comfyui.KindModel, file)
}

// LoraMissing implements Inventory.
func (p PoolInventory) LoraMissing(name string) string {
	return p.missing(comfyui.KindLoRA, name)
}

func (p PoolInventory) missing(kind comfyui.Kind, name string) string {
	if len(p.Pool.Locate(kind, name)) > 0 {
		return ""
	}
	for _, b := range p.Pool.Backends() {
		if b.Up {
			return "not installed on any ComfyUI backend"
		}
	}
	return "no ComfyUI backend is up"
}

// Generation hashes each backend's health and inventory time: it changes
// when availability may have changed.
func (p PoolInventory) Generation() uint64 {
	h := fnv.New64a()
	for _, b := range p.Pool.Backends() {
		h.Write([]byte(b.URL))
		h.Write([]byte(strconv.FormatBool(b.Up)))
		h.Write([]byte(strconv.FormatInt(b.Inventory.FetchedAt.UnixNano(), 10)))
	}
	return h.Sum64()
}

// Backends implements Inventory.
func (p PoolInventory) Backends() []BackendStatus {
	out := []BackendStatus{}
	for _, b := range p.Pool.Backends() {
		out = append(out, BackendStatus{URL: b.URL, Up: b.Up, Error: b.Reason})
	}
	return out
}
