package layers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gosiamese/gosiamese/safetensors"
	"gorgonia.org/tensor"
)

// LoadOptions relaxes LoadParams' strict default.
type LoadOptions struct {
	// AllowMissing accepts a file that lacks some parameters; they keep
	// their current values.
	AllowMissing bool
	// Ignore lists name prefixes of tensors in the file that are skipped
	// without complaint (for example "fc." to load classifier weights into
	// an encoder without a top).
	Ignore []string
}

// ignoredSuffix names tensors that torchvision writes but nothing here
// uses: BatchNorm's step counter (an I64 scalar).
const ignoredSuffix = "num_batches_tracked"

// ErrMismatch is wrapped by LoadParams' error when a file's tensors do not
// fit the parameters: a tensor missing or unexpected, or of another shape
// or an unusable dtype, as when weights of one architecture are loaded
// into another. Test for it with errors.Is.
var ErrMismatch = errors.New("weights do not fit")

// LoadParams fills params from the tensors of f with the same names,
// converting F16, BF16 and F64 data to the parameters' float32.
//
// It is strict by default: every parameter missing from the file, every
// tensor of the file that matches no parameter and every shape mismatch is
// reported, all in one error naming each key (and both shapes). Nothing is
// changed unless everything matches. Tensors named *.num_batches_tracked are
// accepted and ignored.
func LoadParams(f *safetensors.File, params []*Param, opts LoadOptions) error {
	want := make(map[string]*Param, len(params))
	for _, p := range params {
		want[p.Name] = p
	}
	var problems []string
	type job struct {
		p    *Param
		name string
	}
	var jobs []job
	seen := make(map[string]bool)
	for _, name := range f.Names() {
		p, ok := want[name]
		if !ok {
			if strings.HasSuffix(name, ignoredSuffix) || slices.ContainsFunc(opts.Ignore, func(pre string) bool { return strings.HasPrefix(name, pre) }) {
				continue
			}
			problems = append(problems, fmt.Sprintf("unexpected %s", name))
			continue
		}
		seen[name] = true
		info, _ := f.Info(name)
		if !slices.Equal(info.Shape, []int(p.Value.Shape())) {
			problems = append(problems, fmt.Sprintf("%s: shape %v, file has %v", name, shapeString(p.Value.Shape()), shapeString(info.Shape)))
			continue
		}
		switch info.DType {
		case "F32", "F16", "BF16", "F64":
		default:
			problems = append(problems, fmt.Sprintf("%s: dtype %s, want F32, F16, BF16 or F64", name, info.DType))
			continue
		}
		jobs = append(jobs, job{p, name})
	}
	if !opts.AllowMissing {
		for _, p := range params {
			if !seen[p.Name] {
				problems = append(problems, fmt.Sprintf("missing %s %v", p.Name, shapeString(p.Value.Shape())))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("layers: %w (%d problems):\n\t%s", ErrMismatch, len(problems), strings.Join(problems, "\n\t"))
	}
	// Read everything before writing anything, so that an I/O error leaves
	// the parameters as they were.
	vals := make([][]float32, len(jobs))
	for i, j := range jobs {
		v, _, err := f.Float32(j.name)
		if err != nil {
			return fmt.Errorf("layers: %w", err)
		}
		vals[i] = v
	}
	for i, j := range jobs {
		d, ok := j.p.Value.Data().([]float32)
		if !ok {
			return fmt.Errorf("layers: %s: parameter is %v, not float32", j.name, j.p.Value.Dtype())
		}
		copy(d, vals[i])
	}
	return nil
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// Tensors returns params as float32 safetensors tensors, ready for
// safetensors.Write. The data is copied.
func Tensors(params []*Param) ([]safetensors.Tensor, error) {
	var out []safetensors.Tensor
	seen := make(map[string]bool)
	for _, p := range params {
		if seen[p.Name] {
			return nil, fmt.Errorf("layers: two parameters named %s", p.Name)
		}
		seen[p.Name] = true
		if p.Value.Dtype() != tensor.Float32 {
			return nil, fmt.Errorf("layers: %s: parameter is %v, not float32", p.Name, p.Value.Dtype())
		}
		out = append(out, safetensors.F32(p.Name, []int(p.Value.Shape().Clone()), p.Value.Data().([]float32)))
	}
	return out, nil
}

// SaveParams writes params to path as a safetensors file, atomically: a
// file already at path is replaced only once the new one is complete.
func SaveParams(path string, params []*Param, metadata map[string]string) error {
	ts, err := Tensors(params)
	if err != nil {
		return err
	}
	if err := safetensors.WriteFile(path, ts, metadata); err != nil {
		return fmt.Errorf("layers: %w", err)
	}
	return nil
}

// LoadParamsFile opens path and calls LoadParams.
func LoadParamsFile(path string, params []*Param, opts LoadOptions) error {
	f, err := safetensors.Open(path)
	if err != nil {
		return fmt.Errorf("layers: %w", err)
	}
	defer f.Close()
	if err := LoadParams(f, params, opts); err != nil {
		return fmt.Errorf("%w (in %s)", err, path)
	}
	return nil
}
