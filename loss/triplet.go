package loss

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	"github.com/gosiamese/gosiamese/internal/graphop"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Mining selects the triplets of a batch that Triplet averages over
// (Hermans, Beyer & Leibe 2017, "In Defense of the Triplet Loss").
type Mining int

const (
	// BatchAll averages max(0, d(a,p) - d(a,n) + margin) over the valid
	// triplets of the batch (a ≠ p of one class, n of another) whose loss
	// is positive; the loss is 0 when there are none.
	BatchAll Mining = iota
	// BatchHard takes, for each anchor with at least one positive and one
	// negative in the batch, its farthest positive and nearest negative,
	// and averages max(0, d(a,p) - d(a,n) + margin) over those anchors
	// (including anchors whose loss is 0); the loss is 0 when there are
	// none.
	BatchHard
)

func (m Mining) String() string {
	switch m {
	case BatchAll:
		return "BatchAll"
	case BatchHard:
		return "BatchHard"
	}
	return fmt.Sprintf("Mining(%d)", int(m))
}

// Triplet returns the triplet loss of embeddings emb (N, D) whose classes
// are labels (N): class ids stored as floats, so that one graph serves
// every batch. Rows of one class are positives of each other, others
// negatives; distances are Euclidean with Eps. mining chooses the
// triplets; margin must be finite and not negative. Only emb is
// differentiated; at ties BatchHard's gradient goes to the first row that
// attains the extreme.
func Triplet(emb, labels *G.Node, margin float64, mining Mining) (*G.Node, error) {
	if mining != BatchAll && mining != BatchHard {
		return nil, fmt.Errorf("loss: Triplet: unknown mining %v", mining)
	}
	return batchLoss("Triplet", emb, labels, margin, mining)
}

// allPairs is the "mining" of ContrastiveBatch: every pair of the batch.
const allPairs Mining = -1

// ContrastiveBatch returns the contrastive loss (see Contrastive) of every
// pair of rows of a batch: embeddings emb (N, D) whose classes are labels
// (N), stored as floats. Rows of one class are "same" pairs (label 1),
// others "different":
//
//	loss = 1/P Σ_{i<j} y_ij·½d_ij² + (1-y_ij)·½max(0, margin-d_ij)²
//
// over the P = N(N-1)/2 pairs, with Euclidean distances d_ij (with Eps,
// as in Triplet). margin must be positive and finite; N must be 2 or more.
// Only emb is differentiated.
func ContrastiveBatch(emb, labels *G.Node, margin float64) (*G.Node, error) {
	const fn = "ContrastiveBatch"
	if err := checkMargin(fn, margin, true); err != nil {
		return nil, err
	}
	if emb != nil && emb.Dims() == 2 && emb.Shape()[0] < 2 {
		return nil, fmt.Errorf("loss: %s: emb has shape %v: a batch of one row has no pair", fn, emb.Shape())
	}
	return batchLoss(fn, emb, labels, margin, allPairs)
}

// batchLoss checks the inputs of Triplet and ContrastiveBatch and applies
// their op.
func batchLoss(fn string, emb, labels *G.Node, margin float64, mining Mining) (*G.Node, error) {
	if err := checkNodes(fn, []string{"emb", "labels"}, emb, labels); err != nil {
		return nil, err
	}
	if err := checkMargin(fn, margin, false); err != nil {
		return nil, err
	}
	if emb.Dims() != 2 || emb.Shape()[0] < 1 {
		return nil, fmt.Errorf("loss: %s: emb has shape %v, want (N, D)", fn, emb.Shape())
	}
	n, err := batchLen(fn, "labels", labels)
	if err != nil {
		return nil, err
	}
	if n != emb.Shape()[0] {
		return nil, fmt.Errorf("loss: %s: %d embeddings but %d labels", fn, emb.Shape()[0], n)
	}
	name := fmt.Sprintf("%s(%v, margin=%v)", fn, mining, margin)
	if mining == allPairs {
		name = fmt.Sprintf("%s(margin=%v)", fn, margin)
	}
	op := &tripletOp{graphop.Base{Name: name, N: 2}, labels.Dims(), margin, mining}
	return G.ApplyOp(op, emb, labels)
}

// tripletOp takes (emb, labels) and returns the scalar triplet loss, or
// with allPairs the contrastive loss of all pairs.
type tripletOp struct {
	graphop.Base
	yr     int // rank of labels
	margin float64
	mining Mining
}

func (o *tripletOp) Type() hm.Type { return fnType(0, 2, o.yr) }

func (o *tripletOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	for i := range 2 {
		if _, err := shapeOf(o.Name, ds, i); err != nil {
			return nil, err
		}
	}
	return tensor.ScalarShape(), nil
}

// tripletInputs checks the run-time shapes of emb and labels.
func tripletInputs(op string, in []*tensor.Dense) error {
	s := in[0].Shape()
	if len(s) != 2 || in[1].Shape().TotalSize() != s[0] {
		return fmt.Errorf("loss: %s: emb %v and labels %v: want (N, D) and (N)", op, s, in[1].Shape())
	}
	return nil
}

func (o *tripletOp) Do(vs ...G.Value) (G.Value, error) {
	in, err := denses(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	if err := tripletInputs(o.Name, in); err != nil {
		return nil, err
	}
	var v float64
	switch in[0].Dtype() {
	case tensor.Float32:
		v = tripletKernel(o.margin, o.mining, data[float32](in[0]), data[float32](in[1]), nil)
	default:
		v = tripletKernel(o.margin, o.mining, data[float64](in[0]), data[float64](in[1]), nil)
	}
	return newScalar(in[0].Dtype(), v), nil
}

// tripletKernel returns the loss of the batch emb (N×D, row-major) with
// class ids lab. If dx is not nil it also writes dLoss/demb there.
func tripletKernel[T float](margin float64, mining Mining, emb, lab []T, dx []float64) float64 {
	n := len(lab)
	if n == 0 {
		return 0
	}
	d := len(emb) / n
	row := func(i int) []T { return emb[i*d : (i+1)*d] }
	dist := make([]float64, n*n)
	for i := range n {
		for j := i + 1; j < n; j++ {
			dist[i*n+j] = rowDist(row(i), row(j))
			dist[j*n+i] = dist[i*n+j]
		}
	}
	// coef[i*n+j] accumulates dLoss/d dist(i, j) before the division.
	var coef []float64
	if dx != nil {
		coef = make([]float64, n*n)
	}
	var sum float64
	count := 0
	switch mining {
	case allPairs:
		for i := range n {
			for j := i + 1; j < n; j++ {
				dij := dist[i*n+j]
				count++
				var c float64 // dLoss/d dist(i, j)
				if lab[i] == lab[j] {
					sum += dij * dij / 2
					c = dij
				} else if h := margin - dij; h > 0 {
					sum += h * h / 2
					c = -h
				}
				if coef != nil {
					coef[i*n+j] += c
				}
			}
		}
	case BatchAll:
		for a := range n {
			for p := range n {
				if p == a || lab[p] != lab[a] {
					continue
				}
				for q := range n {
					if lab[q] == lab[a] {
						continue
					}
					if l := dist[a*n+p] - dist[a*n+q] + margin; l > 0 {
						sum += l
						count++
						if coef != nil {
							coef[a*n+p]++
							coef[a*n+q]--
						}
					}
				}
			}
		}
	case BatchHard:
		for a := range n {
			hp, hn := -1, -1
			for j := range n {
				switch {
				case j == a:
				case lab[j] == lab[a]:
					if hp < 0 || dist[a*n+j] > dist[a*n+hp] {
						hp = j
					}
				default:
					if hn < 0 || dist[a*n+j] < dist[a*n+hn] {
						hn = j
					}
				}
			}
			if hp < 0 || hn < 0 {
				continue
			}
			count++
			if l := dist[a*n+hp] - dist[a*n+hn] + margin; l > 0 {
				sum += l
				if coef != nil {
					coef[a*n+hp]++
					coef[a*n+hn]--
				}
			}
		}
	}
	if count == 0 {
		return 0
	}
	if dx != nil {
		k := 1 / float64(count)
		for i := range n {
			for j := range n {
				c := coef[i*n+j]
				if c == 0 {
					continue
				}
				// d dist(i,j)/d e_i = (e_i - e_j)/dist(i,j), the negative for e_j.
				c *= k / dist[i*n+j]
				ei, ej := row(i), row(j)
				for t := range d {
					g := c * (float64(ei[t]) - float64(ej[t]))
					dx[i*d+t] += g
					dx[j*d+t] -= g
				}
			}
		}
	}
	return sum / float64(count)
}

func (o *tripletOp) DiffWRT(int) []bool { return []bool{true, false} }

func (o *tripletOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	op := &tripletGradOp{graphop.Base{Name: o.Name + "Grad", N: 3}, o.yr, o.margin, o.mining}
	de, err := G.ApplyOp(op, in[0], in[1], grad)
	return G.Nodes{de, nil}, err
}

// tripletGradOp takes (emb, labels, dy) and returns dy·dLoss/demb,
// recomputing the distances and the mined triplets.
type tripletGradOp struct {
	graphop.Base
	yr     int
	margin float64
	mining Mining
}

func (o *tripletGradOp) Type() hm.Type { return fnType(2, 2, o.yr, 0) }

func (o *tripletGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(o.Name, ds, 0)
	return s.Clone(), err
}

func (o *tripletGradOp) Do(vs ...G.Value) (G.Value, error) {
	in, dy, err := gradInputs(o.Name, vs, 2)
	if err != nil {
		return nil, err
	}
	if err := tripletInputs(o.Name, in); err != nil {
		return nil, err
	}
	dx := make([]float64, in[0].Shape().TotalSize())
	out := graphop.NewDense(in[0].Dtype(), in[0].Shape())
	switch in[0].Dtype() {
	case tensor.Float32:
		tripletKernel(o.margin, o.mining, data[float32](in[0]), data[float32](in[1]), dx)
		scaleInto(dx, dy, data[float32](out))
	default:
		tripletKernel(o.margin, o.mining, data[float64](in[0]), data[float64](in[1]), dx)
		scaleInto(dx, dy, data[float64](out))
	}
	return out, nil
}

func scaleInto[T float](x []float64, k float64, y []T) {
	for i, v := range x {
		y[i] = T(k * v)
	}
}

func (o *tripletGradOp) DiffWRT(int) []bool { return []bool{false, false, false} }

func (o *tripletGradOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("loss: Triplet has no second derivative")
}
