package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gosiamese/gosiamese/internal/shell"
	"github.com/gosiamese/gosiamese/train"
)

// recipeFlags are the flags a fixed recipe takes; the others configure
// -recipe original.
var recipeFlags = map[string]bool{
	"folder": true, "omniglot": true, "mnist": true, "strict": true,
	"size": true, "channels": true, "val": true, "valpairs": true, "seed": true, "workers": true, "out": true,
	"recipe": true, "pretrain-epochs": true, "pretrain-steps": true, "pair-epochs": true, "resume": true,
}

// runRecipe trains by a preset recipe of the package train.
func runRecipe(fs *flag.FlagSet, o *options, stdout, stderr io.Writer) int {
	r, err := train.Preset(o.recipe)
	if err != nil {
		fmt.Fprintln(stderr, "train:", err)
		return exitUsage
	}
	var wrong []string
	fs.Visit(func(f *flag.Flag) {
		if !recipeFlags[f.Name] {
			wrong = append(wrong, "-"+f.Name)
		}
	})
	sort.Strings(wrong)
	switch {
	case o.pairs != "":
		fmt.Fprintf(stderr, "train: recipe %q needs classes (-folder, -omniglot or -mnist); train on a pairs CSV with -recipe original\n", r.Name)
		return exitUsage
	case len(wrong) > 0:
		fmt.Fprintf(stderr, "train: %s: only with -recipe original (recipe %q fixes the model and its training: %s)\n", strings.Join(wrong, ", "), r.Name, train.PresetDoc(r.Name))
		return exitUsage
	case !(o.val > 0 && o.val < 1):
		fmt.Fprintf(stderr, "train: -val %g outside (0, 1)\n", o.val)
		return exitUsage
	case o.pretrainEpochs < 0 || o.pretrainSteps < 0 || o.pairEpochs < 0 || o.valPairs < 2:
		fmt.Fprintln(stderr, "train: -pretrain-epochs, -pretrain-steps and -pair-epochs must not be negative, -valpairs at least 2")
		return exitUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	ov := train.Overrides{Budget: train.Budget{PretrainEpochs: o.pretrainEpochs, PretrainSteps: o.pretrainSteps, PairEpochs: o.pairEpochs}, ValPairs: o.valPairs}
	if given["size"] {
		ov.Size = o.size
	}
	if given["channels"] {
		ov.Channels = o.channels
	}
	if given["val"] {
		ov.ValFraction = o.val
	}
	r = r.With(ov)
	if err := r.Validate(); err != nil {
		return fail(stderr, err)
	}
	resume := []string{"train"}
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "resume" {
			resume = append(resume, "-"+f.Name+"="+f.Value.String())
		}
	})
	resume = append(resume, "-resume")
	best := filepath.Join(o.out, train.BestModel)
	if _, err := os.Stat(best); err == nil && !o.resume {
		fmt.Fprintf(stderr, "train: %s exists: choose another -out\n", best)
		return exitFail
	}
	if _, err := os.Stat(filepath.Join(o.out, train.RunRecord)); err == nil && !o.resume {
		fmt.Fprintf(stderr, "train: %s holds an unfinished run: continue it with %s, or choose another -out\n", o.out, shell.Join(resume...))
		return exitFail
	}
	ld, err := o.load(stderr)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stderr, "recipe %s: %s\ndata: %s; output in %s\n", r.Name, train.PresetDoc(r.Name), ld.desc, o.out)
	return fit(r, ld, o, nil, shell.Join(resume...), stdout, stderr)
}
