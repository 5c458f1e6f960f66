package report

import (
	"strings"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/stretchr/testify/assert"
)

func TestInputsSayWhichImagesTheWeightsSaw(t *testing.T) {
	const (
		aka56   = "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"
		clean20 = "1b011799e398ad430c0311ca88dee97b592c49f92419f0b30948f4a83607e1a9"
		scratch = "6476be020f664a6fa41ebca9e27c7213eb04692c0278fe985c2fed623c944a68"
	)
	cases := []struct {
		name, sha, rule string
		want            []string
		memorised       bool
	}{
		{"akamaster on the content split", aka56, datasets.HeldoutByContent, []string{"akamaster-cifar10/resnet56-4bfd9763.th", "all 50,000"}, true},
		{"clean on the content split", clean20, datasets.HeldoutByContent, []string{"cifar10-clean/resnet20.safetensors"}, false},
		{"JPEG scratch on its own split", scratch, datasets.HeldoutLastTenth, []string{"cifar10-jpeg-scratch"}, false},
		{"JPEG scratch on the content split", scratch, datasets.HeldoutByContent, []string{"cifar10-jpeg-scratch"}, true},
		{"unknown weights", strings.Repeat("ab", 32), datasets.HeldoutByContent, []string{"weights sha256 abababababababab;"}, false},
		{"runs from before inputs were recorded", "", "", nil, false},
	}
	for _, c := range cases {
		var b strings.Builder
		writeInputs(&b, Run{Model: "resnet20", Data: "cifar10", WeightsSHA256: c.sha, DataFingerprint: "sha256:00", HeldoutRule: c.rule})
		if c.sha == "" {
			assert.Empty(t, b.String(), c.name)
			continue
		}
		for _, w := range c.want {
			assert.Contains(t, b.String(), w, c.name)
		}
		assert.Equal(t, c.memorised, strings.Contains(b.String(), "memorisation"), c.name)
	}
}
