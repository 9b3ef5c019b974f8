// Package eval measures how well a similarity model separates "same" from
// "different": verification metrics on scored pairs, N-way one-shot
// classification (Omniglot's 20 official runs among them), retrieval of
// a labelled gallery and plots.
//
// # Conventions
//
// As everywhere in gosiamese, label 1 means "same" and 0 "different", and
// a higher score means more alike. A score at or above a threshold
// predicts "same", exactly as a model's verdict does, so a threshold
// calibrated on a model's scores can be given to its SetThreshold (when
// it lies in [0, 1]) and reproduces the counts it was calibrated on.
// Scores and labels are plain float64 slices: eval imports no model.
//
// # Metrics
//
// Accuracy, ROC, AUC, EER, CalibrateF1 and CalibrateFAR take parallel
// slices of scores and labels. Pairs with equal scores are accepted or
// rejected together: on the ROC curve a tie between the classes is one
// diagonal step, which AUC (the Mann-Whitney statistic) counts as half
// right. EER interpolates linearly on the ROC curve. The metrics return
// errors (ErrEmpty, ErrLength, ErrLabel, ErrNaN, ErrOneClass, wrapped with
// context) instead of meaningless numbers; Accuracy alone accepts labels
// of a single class.
//
// # One-shot classification
//
// OneShot runs N-way tasks through a Scorer, an interface of plain
// embeddings and float64 scores (train.OneShotScorer adapts a model):
// each distinct image is embedded once and the test image is compared
// with every candidate; the highest score wins, ties to the lowest index.
// Episodes draws such tasks from labelled images. LoadOmniglotRuns reads
// the 20 runs of Lake et al. (2015) from all_runs or all_runs.zip, and
// EvaluateRuns reports per-run and mean error rates as Lake's script does
// (RunsResult.String prints them in its format). On these runs raw-pixel
// nearest neighbour makes 81.0% error, the modified Hausdorff distance
// 38.8%, Koch et al.'s Siamese network 8%.
//
// Augmented wraps a Scorer for test-time augmentation: each image is
// embedded as the mean direction of its own embedding and those of
// distorted copies (train.TTA supplies the training distortions). Views
// compares two images view by view (for example their quarter turns,
// turn against turn), the mean of the views' scores.
//
// # Retrieval
//
// RetrievalScores ranks a gallery for each query by a score matrix and
// reports Recall@K, precision@1 and MAP@R (Musgrave, Belongie & Lim 2020);
// RetrievalLeaveOneOut does so within one labelled set, each item the
// query of all the others, and RetrievalImages scores a set of images
// through a Scorer first. Equal scores keep the gallery's order.
//
// # Plots
//
// PlotROC and PlotCurves write PNG files (with gonum.org/v1/plot),
// atomically: a reader never sees a half-written plot.
package eval
