package comfysim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// Inventory lists the model files the simulator pretends to have, by the
// folder ComfyUI reads them from. The names are what validation and
// /object_info use, exactly as a real server lists them (a subfolder is part
// of the name, with `/` or `\` as the server's separator).
//
// The inventory file (`atelier comfysim --inventory FILE`) is JSON with the
// same field names, every field optional:
//
//	{
//	  "checkpoints": ["sd_xl_base_1.0.safetensors", "flux/flux1-dev-fp8.safetensors"],
//	  "unets": ["flux1-dev.safetensors"],
//	  "loras": ["lcm_lora_sdxl.safetensors"],
//	  "vaes": ["ae.safetensors"],
//	  "clips": ["clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"]
//	}
type Inventory struct {
	// Checkpoints are the models/checkpoints files (CheckpointLoaderSimple.ckpt_name).
	Checkpoints []string `json:"checkpoints,omitempty"`
	// UNets are the models/diffusion_models files (UNETLoader.unet_name).
	UNets []string `json:"unets,omitempty"`
	// LoRAs are the models/loras files (LoraLoader.lora_name).
	LoRAs []string `json:"loras,omitempty"`
	// VAEs are the models/vae files (VAELoader.vae_name).
	VAEs []string `json:"vaes,omitempty"`
	// CLIPs are the models/text_encoders files (CLIPLoader.clip_name and friends).
	CLIPs []string `json:"clips,omitempty"`
}

// DefaultInventory is what the simulator holds when it is given nothing: the
// model files of the public example workflows, so that they run as they are.
func DefaultInventory() Inventory {
	return Inventory{
		Checkpoints: []string{
			"dreamshaper_8.safetensors",
			"flux1-dev-fp8.safetensors",
			"flux1-schnell-fp8.safetensors",
			"sd3.5_medium.safetensors",
			"sd_xl_base_1.0.safetensors",
			"sd_xl_refiner_1.0.safetensors",
			"v1-5-pruned-emaonly.safetensors",
		},
		UNets: []string{"flux1-dev.safetensors", "sdxl_lightning_4step_unet.pth"},
		LoRAs: []string{
			"lcm_lora_sdxl.safetensors",
			"sdxl_lightning_4step_lora.pth",
		},
		VAEs: []string{"ae.safetensors", "sdxl_vae.safetensors"},
		CLIPs: []string{
			"clip_g.safetensors",
			"clip_l.safetensors",
			"t5xxl_fp16.safetensors",
			"t5xxl_fp8_e4m3fn.safetensors",
		},
	}
}

// LoadInventory reads an inventory file (JSON, see Inventory). Unknown fields
// are an error so that a typo ("lora" for "loras") does not silently leave a
// folder empty.
func LoadInventory(path string) (Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Inventory{}, fmt.Errorf("reading inventory: %w", err)
	}
	var inv Inventory
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&inv); err != nil {
		return Inventory{}, fmt.Errorf("parsing inventory %s: %w", path, err)
	}
	if err := inv.check(); err != nil {
		return Inventory{}, fmt.Errorf("inventory %s: %w", path, err)
	}
	return inv, nil
}

// check refuses empty names, which ComfyUI can never list.
func (inv Inventory) check() error {
	for folder, names := range inv.folders() {
		for i, n := range names {
			if n == "" {
				return fmt.Errorf("%s[%d]: empty file name", folder, i)
			}
		}
	}
	return nil
}

func (inv Inventory) folders() map[string][]string {
	return map[string][]string{
		"checkpoints": inv.Checkpoints,
		"unets":       inv.UNets,
		"loras":       inv.LoRAs,
		"vaes":        inv.VAEs,
		"clips":       inv.CLIPs,
	}
}

// clone copies the lists so a caller's later edits do not reach the server.
func (inv Inventory) clone() Inventory {
	return Inventory{
		Checkpoints: sortedCopy(inv.Checkpoints),
		UNets:       sortedCopy(inv.UNets),
		LoRAs:       sortedCopy(inv.LoRAs),
		VAEs:        sortedCopy(inv.VAEs),
		CLIPs:       sortedCopy(inv.CLIPs),
	}
}

// sortedCopy sorts like ComfyUI's folder listing (sorted names).
func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
