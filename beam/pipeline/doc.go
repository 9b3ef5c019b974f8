// Package pipeline embeds images with a Siamese model on Apache Beam, so
// that a job too big for one machine runs on Dataflow, Flink or Spark (or
// on Beam's local runner, prism). It writes the files package bulk writes:
// Parquet shards with the columns path (string) and embedding
// (list<float32>) and bulk.Metadata's key-value metadata, and a list of
// the images it could not use.
//
// Build adds the steps to a pipeline:
//
//  1. match Config.Input, a file pattern of any filesystem Beam has
//     registered (local paths, gs://, s3://), keeping the files whose names
//     preprocess.IsImageFile accepts;
//  2. count them and give each path a shard, by a hash of the path, of
//     about Config.ShardSize paths: part-SSSSS-of-NNNNN.parquet;
//  3. for each shard, read and decode its images in path order, embed them
//     Config.BatchSize at a time with the model (loaded once per worker
//     process, read through Beam's filesystems), and write the shard's file
//     under a temporary name, renamed into place once whole;
//  4. once every shard is written, write skipped.jsonl (the images left
//     out, by path: bulk.Skipped's path, reason and error) and shards.json
//     (the shard files and counts), and remove temporary files that failed
//     attempts left.
//
// Runners retry failed bundles and may run a bundle twice. A shard's file
// name and content depend only on the inputs and the model (its paths are
// sorted, and an image's embedding does not depend on its batch), so an
// attempt that runs again writes the same file over the first: every image
// is in exactly one shard. Undecodable, too large and vanished images are
// skipped and reported; any other error reading a file (a filesystem's
// failure) fails the bundle, for the runner to retry, so that a passing
// outage does not drop images from the output.
//
// The output folder should be empty or hold an earlier run over the same
// inputs: a run with another number of shards leaves the files of the
// other run (another -of-NNNNN) beside its own. shards.json lists the
// current run's files.
package pipeline
