package comfysim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
)

// renderPNG draws a cheap picture that depends only on key: diagonal
// stripes in two gradients whose colours, direction and width come from the
// key. Same key, same bytes: nothing else goes in and the encoder is
// deterministic. The picture is paletted and every row is the previous one
// shifted by a pixel, so drawing is a copy per row and the encoder skips its
// per-row filter search: a 1024×1024 image costs a few milliseconds.
func renderPNG(w, h int, key [32]byte) ([]byte, error) {
	pal := make(color.Palette, 256)
	for i := range 128 {
		pal[i] = mix(key[0:3], key[3:6], i)
		pal[128+i] = mix(key[6:9], key[9:12], i)
	}
	period := 8 + int(key[12])%56
	// line[k] is the colour of every pixel with x+y == k (or x-y, flipped).
	line := make([]uint8, w+h)
	for k := range line {
		shade := uint8(k * 127 / max(len(line)-1, 1))
		if (k/period)%2 == 1 {
			shade += 128
		}
		line[k] = shade
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	flip := key[13]&1 == 1
	for y := range h {
		off := y
		if flip {
			off = h - 1 - y
		}
		copy(img.Pix[y*img.Stride:y*img.Stride+w], line[off:off+w])
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// mix is colour a blended towards b by i/127.
func mix(a, b []byte, i int) color.Color {
	c := func(x, y byte) uint8 { return uint8((int(x)*(127-i) + int(y)*i) / 127) }
	return color.RGBA{c(a[0], b[0]), c(a[1], b[1]), c(a[2], b[2]), 255}
}

// imageKey mixes the signature of the decoded image with its index in the
// batch, so every image of a batch differs.
func imageKey(sig string, index int) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(index))
	return sha256.Sum256(append([]byte(sig), b[:]...))
}
