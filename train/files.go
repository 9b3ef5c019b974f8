package train

// The files a run writes in its folder (Config.Dir, PretrainConfig.Dir,
// FitOptions.Dir).
const (
	// BestModel is the pair stage's model with the best validation
	// metric, its threshold calibrated: the model a run produces.
	BestModel = "best.safetensors"
	// Checkpoint is the pair stage's checkpoint, which Resume reads: the
	// model, the optimizer's moments and the progress.
	Checkpoint = "last.safetensors"
	// Log has one row of the pair stage's metrics per epoch.
	Log = "log.csv"
	// CurvesPlot and ROCPlot are the pair stage's training curves and
	// its latest validation ROC curve.
	CurvesPlot = "curves.png"
	ROCPlot    = "roc.png"
	// ReliabilityPlot is the reliability diagram of the validation pairs'
	// scores before and after a recipe's Platt scaling (Recipe.Platt).
	ReliabilityPlot = "reliability.png"

	// PretrainModel is the pretrained model at its best validation
	// one-shot accuracy (the last without validation).
	PretrainModel = "pretrain.safetensors"
	// PretrainCheckpoint is pretraining's checkpoint, which
	// Pretrainer.Resume reads: the model, the classifier, the optimizer's
	// moments, the best epoch's parameters and the progress.
	PretrainCheckpoint = "pretrain-last.safetensors"
	// PretrainLog has one row of pretraining's metrics per epoch.
	PretrainLog = "pretrain-log.csv"
	// PretrainPlot is pretraining's accuracy curves.
	PretrainPlot = "pretrain.png"

	// MetricModel is the metric learning stage's model at its best
	// validation one-shot accuracy (the last without validation).
	MetricModel = "metric.safetensors"
	// MetricCheckpoint is the metric learning stage's checkpoint, which
	// MetricTrainer.Resume reads: the model, the optimizer's moments, the
	// best epoch's parameters and the progress.
	MetricCheckpoint = "metric-last.safetensors"
	// MetricLog has one row of the metric learning stage's metrics per
	// epoch, in PretrainLog's columns (train_accuracy is the in-batch
	// precision@1).
	MetricLog = "metric-log.csv"
	// MetricPlot is the metric learning stage's accuracy curves.
	MetricPlot = "metric.png"

	// RunRecord records what a Fit run was started with (the recipe, the
	// seed and the split of the data), so that a resumed run can be
	// checked against it.
	RunRecord = "recipe.json"
)
