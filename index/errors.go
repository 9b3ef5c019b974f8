package index

import "errors"

// Errors for errors.Is. Each comes wrapped in a message that names the
// file or the vector concerned.
var (
	// ErrNotIndex: the file is not an index file (another kind of file,
	// or empty).
	ErrNotIndex = errors.New("index: not an index file")

	// ErrDamaged: the file is an index file but damaged: truncated,
	// altered (its SHA-256 does not match), or its header or lists are
	// inconsistent.
	ErrDamaged = errors.New("index: damaged index file")

	// ErrVersion: the file is an index file of a version this package
	// does not read.
	ErrVersion = errors.New("index: unsupported index file version")

	// ErrModel: the index was built from another model's vectors than
	// the one it is used with, or from vectors a model cannot search (not
	// search vectors, of another metric or length, or first-tower vectors
	// of a model with separate towers).
	ErrModel = errors.New("index: vectors of another model")

	// ErrDuplicateID: an id is already in the index, or given twice.
	ErrDuplicateID = errors.New("index: duplicate id")

	// ErrVector: a vector of the wrong length, or with a NaN or an
	// infinity.
	ErrVector = errors.New("index: bad vector")
)
