// Package train fits a Siamese model to labelled pairs: binary
// cross-entropy on the model's logits (label 1 = same), Adam or SGD with
// momentum, learning-rate schedules (step, cosine, warm-up) and
// reduce-on-plateau, early stopping and model selection on a validation
// metric, a CSV log of every epoch, and a progress bar.
//
// Runs are reproducible and resumable: the batch of every step is a pure
// function of the data's seed and the step (see SampledBatches), Dropout
// masks are keyed by the step, and the checkpoint (Checkpoint in Dir,
// written atomically at every epoch's end and when the context is
// cancelled) holds the model, BatchNorm statistics, the optimizer's
// moments, the step, the schedules' state and the history. Resume
// continues such a run; it ends bit for bit where an uninterrupted run
// would.
//
// Every stage of training (Trainer, Pretrainer and MetricTrainer) runs its
// steps through one loop, so they fail alike: a NaN or infinite input, loss or gradient
// stops training with an error naming the step, with the model's
// parameters and BatchNorm statistics from before it; an update that
// makes a weight or statistic non-finite stops it after the step, before
// anything is saved; and a run started in a folder where a killed run
// left temporary files removes them.
//
// With the whole encoder frozen (siamese.Config.FrozenStages =
// resnet.Stages, the Keras original's trainable=False) and no augmentation,
// each image's encoder output is computed once and kept in memory, and
// only the head is trained: BenchmarkFrozenCached against
// BenchmarkFrozenFull measures the gain.
//
// # Recipes
//
// A Recipe is a whole way to train on labelled images (or labelled pairs
// of them, see Data), run by Fit: the model, an optional pretraining stage
// (Pretrainer: the towers learn to classify the training classes, and
// optionally their quarter turns, with softmax cross-entropy; the epoch
// with the best one-shot accuracy on held-out data is kept), an optional
// metric learning stage (MetricTrainer: the towers learn embeddings by a
// triplet or contrastive loss on batches of P classes with M images each,
// drawn by ClassBalancedImages; chosen, checkpointed and resumed as
// pretraining is) and the pair stage above. What is held out for those
// choices is whole classes (HoldClasses: the classes met in use are new
// ones), images of every class (HoldImages: the classes met in use are
// the training classes), or both (HoldBoth; HoldAuto, the oneshot
// recipes' choice, takes it when few classes would be held out). A recipe can add synthetic outlier images to
// pretraining (Outliers), so a blank page or noise embeds away from every
// class, and calibrate the chosen model's scores by Platt scaling on the
// validation pairs (Platt, PlattScale), so a score is the probability it
// claims. Fit ends by measuring retrieval (recall@K, MAP@R) of the
// embeddings on the held-out images. Recipe.Split gives the split Fit made,
// so that a saved model is evaluated again on its held-out images.
//
// OneShotScorer adapts a model to eval's one-shot and retrieval measures;
// TTA adds test-time augmentation: each image the mean of its embedding
// and those of copies with the training distortions, and optionally its
// quarter turns compared turn by turn (TTAScorer is the copies alone).
//
// Presets names them: "oneshot" (the default, see OneShotRecipe),
// "oneshot-long" (the same, pretrained longer with a cosine classifier),
// "oneshot-triplet" (the triplet loss with batch-all mining instead of
// the classifier, see OneShotTripletRecipe), "quick" (minutes, for data whose
// classes are the ones met in use: the main job on MNIST, see QuickRecipe),
// "quick-long" (the same, pretrained longer) and "original", the Keras design (see OriginalRecipe). The README's
// results section gives what each reached, at what cost, and what each
// lever of "oneshot" adds.
package train
