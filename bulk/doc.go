// Package bulk embeds many images with a Siamese model and writes the
// embeddings to files that data tools and vector databases read: Parquet
// (columns path: string and embedding: list<float32>, the model's identity
// in the file's key-value metadata) or JSON lines
// ({"path": ..., "embedding": [...]}).
//
// Run takes a list of image paths (Folder walks a folder tree, ReadList
// reads one path a line from a list file or standard input), sorts it and
// drops repeats, and splits it into shards of Config.ShardSize paths:
// part-00000.parquet holds the first shard's images, part-00001.parquet
// the next, each shard written to a temporary file and renamed into place
// once whole. A manifest (manifest.json) lists the finished shards with
// the images each skipped; a job killed at any moment, even with SIGKILL,
// resumes when run again with the same model, inputs and configuration,
// redoing only the unfinished shards, so that in the end every image is in
// exactly one shard.
//
// Memory stays bounded however many images there are: a pool of workers
// decodes and preprocesses images into a queue of Config.Queue images,
// batches of Config.BatchSize go through the network in input order, and
// a writer holds at most one shard's rows.
//
// Images that cannot be used (corrupt, not an image, too large, missing)
// are skipped, not fatal: Result.Skipped lists them with the reason, and
// skipped.jsonl in the output folder lists them too.
package bulk
