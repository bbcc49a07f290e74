package comfyui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Kind is a folder of model files on a ComfyUI server.
type Kind string

// The kinds of files the pool tracks.
const (
	KindCheckpoint Kind = "checkpoint"   // models/checkpoints, CheckpointLoaderSimple.ckpt_name
	KindUNet       Kind = "unet"         // models/diffusion_models, UNETLoader.unet_name
	KindLoRA       Kind = "lora"         // models/loras, LoraLoader.lora_name
	KindVAE        Kind = "vae"          // models/vae, VAELoader.vae_name
	KindCLIP       Kind = "text_encoder" // models/text_encoders, CLIPLoader.clip_name
	// KindModel is a model file that may be a checkpoint or a diffusion
	// model: the config names the file, not the folder.
	KindModel Kind = "model"
)

func (k Kind) label() string {
	switch k {
	case KindCheckpoint, KindUNet, KindModel:
		return "model"
	case KindLoRA:
		return "LoRA"
	case KindVAE:
		return "VAE"
	case KindCLIP:
		return "text encoder"
	}
	return string(k)
}

// kindOfInput maps a loader's file input to its kind.
func kindOfInput(input string) (Kind, bool) {
	switch {
	case input == "ckpt_name":
		return KindCheckpoint, true
	case input == "unet_name":
		return KindUNet, true
	case input == "lora_name":
		return KindLoRA, true
	case input == "vae_name":
		return KindVAE, true
	case strings.HasPrefix(input, "clip_name"):
		return KindCLIP, true
	}
	return "", false
}

// inventorySources are the /object_info inputs listing each kind, first
// match wins; exactly what ComfyUI validates against.
var inventorySources = []struct {
	kind  Kind
	class string
	input string
}{
	{KindCheckpoint, "CheckpointLoaderSimple", "ckpt_name"},
	{KindUNet, "UNETLoader", "unet_name"},
	{KindLoRA, "LoraLoader", "lora_name"},
	{KindVAE, "VAELoader", "vae_name"},
	{KindCLIP, "CLIPLoader", "clip_name"},
}

// Inventory is the model files one backend has, in the backend's spelling.
type Inventory struct {
	Checkpoints []string
	UNets       []string
	LoRAs       []string
	VAEs        []string
	CLIPs       []string
	// FetchedAt is when it was read; zero when never.
	FetchedAt time.Time

	index map[Kind]map[string]string
}

// normalizeName matches `a\b.safetensors` (a Windows server) and
// `a/b.safetensors` as the same path.
func normalizeName(name string) string { return strings.ReplaceAll(name, `\`, "/") }

func (inv *Inventory) list(k Kind) *[]string {
	switch k {
	case KindCheckpoint:
		return &inv.Checkpoints
	case KindUNet:
		return &inv.UNets
	case KindLoRA:
		return &inv.LoRAs
	case KindVAE:
		return &inv.VAEs
	case KindCLIP:
		return &inv.CLIPs
	}
	return nil
}

func (inv *Inventory) buildIndex() {
	inv.index = map[Kind]map[string]string{}
	for _, src := range inventorySources {
		m := map[string]string{}
		for _, name := range *inv.list(src.kind) {
			m[normalizeName(name)] = name
		}
		inv.index[src.kind] = m
	}
}

// Lookup finds a file by name, `\` and `/` alike, and returns the backend's
// own spelling of it. KindModel looks in checkpoints, then diffusion models.
func (inv *Inventory) Lookup(kind Kind, name string) (string, bool) {
	if inv == nil {
		return "", false
	}
	if inv.index == nil {
		inv.buildIndex()
	}
	if kind == KindModel {
		if s, ok := inv.Lookup(KindCheckpoint, name); ok {
			return s, true
		}
		return inv.Lookup(KindUNet, name)
	}
	s, ok := inv.index[kind][normalizeName(name)]
	return s, ok
}

// Size is the number of files listed.
func (inv *Inventory) Size() int {
	return len(inv.Checkpoints) + len(inv.UNets) + len(inv.LoRAs) + len(inv.VAEs) + len(inv.CLIPs)
}

func (inv *Inventory) clone() Inventory {
	return Inventory{Checkpoints: slices.Clone(inv.Checkpoints), UNets: slices.Clone(inv.UNets),
		LoRAs: slices.Clone(inv.LoRAs), VAEs: slices.Clone(inv.VAEs), CLIPs: slices.Clone(inv.CLIPs),
		FetchedAt: inv.FetchedAt}
}

// FetchInventory reads the file lists from /object_info. A class the server
// does not have leaves its list empty; any failed request fails the whole
// fetch, so a half-read inventory never replaces a good one.
func (c *Client) FetchInventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	for _, src := range inventorySources {
		opts, _, err := c.ComboOptions(ctx, src.class, src.input)
		if err != nil {
			return Inventory{}, fmt.Errorf("reading %s list: %w", src.kind.label(), err)
		}
		*inv.list(src.kind) = opts
	}
	inv.FetchedAt = time.Now()
	inv.buildIndex()
	return inv, nil
}
