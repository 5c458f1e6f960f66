package weights

// Provenance says what a known checkpoint was trained on: which images it
// saw decides what its held-out accuracy means (generalisation, or
// memorisation when the held-out images were among its training images).
type Provenance struct {
	// Name is where the file is distributed (a path under ../shared/weights
	// or a results folder).
	Name string
	// Saw names the training images, in words.
	Saw string
	// SawHeldout says, per held-out rule (datasets.HeldoutByContent's and
	// datasets.HeldoutLastTenth's first word: "content", "position"),
	// whether the network trained on that held-out split's images.
	SawHeldout map[string]bool
}

// known lists shared checkpoints by the SHA-256 of their file: data, not
// code paths. The sums and training sets are those of each folder's README.
var known = map[string]Provenance{
	"12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8": akamaster("resnet20-12fca82f.th"),
	"d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850": akamaster("resnet32-d509ac18.th"),
	"014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4": akamaster("resnet44-014dd654.th"),
	"4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367": akamaster("resnet56-4bfd9763.th"),
	"1b011799e398ad430c0311ca88dee97b592c49f92419f0b30948f4a83607e1a9": clean("resnet20.safetensors"),
	"c999bd681d7f8541db281214f2e22f3679f135a223d167c04e3f169b1981b597": clean("plain20.safetensors"),
	"21a253be6d91153fe8b6b42de8a037fe30d675e5924575b56ad335a55359ded8": adapted("resnet20.safetensors"),
	"e0ea9b7cee75568c682e96f319595d62db029b9cb6d9a362551b467ce54d8c0f": adapted("resnet56.safetensors"),
	"6476be020f664a6fa41ebca9e27c7213eb04692c0278fe985c2fed623c944a68": {Name: "cifar10-jpeg-scratch/resnet20.safetensors",
		Saw:        "the JPEG copy's 45,000 training images outside its positional held-out split (4500-4999.jpg per class)",
		SawHeldout: map[string]bool{"position": false, "content": true}},
	"0b074014a322b252c986f72b6597b37f9cc7f5b924b12888676166ff399253fb": {Name: "results/jpeg-copy/train-plain20/model.safetensors",
		Saw:        "the JPEG copy's 45,000 training images outside its positional held-out split (4500-4999.jpg per class)",
		SawHeldout: map[string]bool{"position": false, "content": true}},
}

func akamaster(file string) Provenance {
	return Provenance{Name: "akamaster-cifar10/" + file, Saw: "all 50,000 CIFAR-10 training images",
		SawHeldout: map[string]bool{"position": true, "content": true}}
}

func clean(file string) Provenance {
	return Provenance{Name: "cifar10-clean/" + file,
		Saw:        "the lossless CIFAR-10's 45,000 training images outside the content-defined held-out split",
		SawHeldout: map[string]bool{"content": false, "position": true}}
}

func adapted(file string) Provenance {
	return Provenance{Name: "cifar10-jpeg-adapted/" + file,
		Saw:        "all 50,000 CIFAR-10 training images (akamaster), then fine-tuned on 45,000 JPEG-copy images chosen at random",
		SawHeldout: map[string]bool{"position": true, "content": true}}
}

// Known returns the provenance of a checkpoint by its file's SHA-256 (hex).
func Known(sha256 string) (Provenance, bool) {
	p, ok := known[sha256]
	return p, ok
}
