// Package torchtest holds the tests of the PyTorch module
// python/gosiamese_torch.py against the Go package: Go writes models that
// PyTorch loads, scores, writes back and trains, and the Go package reads
// them again. The tests run Debian's /usr/bin/python3 with python3-torch
// and skip, saying so, where it cannot import torch;
// GOSIAMESE_REQUIRE_TORCH=1 turns the skip into a failure. The package has
// no code of its own.
package torchtest
