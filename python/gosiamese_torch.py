"""The gosiamese Siamese network in PyTorch, reading and writing its model files.

A model file written by gosiamese (``siamese.Model.Save``, ``siamese train``)
loads here as a ``torch.nn.Module`` that computes the same embeddings and
scores; train it on a GPU with any PyTorch loop, then save it back to a
file that ``siamese.Load`` reads::

    import torch, gosiamese_torch as gt

    model, config = gt.load("model.safetensors")
    model.to("cuda").train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], 1e-4)
    for a, b, same in batches:                # a, b: (N, C, S, S), same: (N,) 0/1
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(a.cuda(), b.cuda()), same.cuda().double())
        opt.zero_grad(); loss.backward(); opt.step()
    gt.save(model, config, "trained.safetensors")

What it computes, as the Go package does (siamese/network.go, resnet/):

* each tower: a torchvision-layout ResNet (18, 34, 50, 101 or 152, any
  stem width and input channel count; BatchNorm with the file's epsilon and
  momentum), then average, max or no pooling (flattened), then the hidden
  Dense + ReLU (+ Dropout in training) layers;
* shared towers run both inputs as one batch of 2N, so BatchNorm sees the
  pairs together in training, as in Go; separate towers have their own
  ``encoder_b`` and ``head_b``;
* the head: per-feature distances d (L1 |a-b|, L2 (a-b)^2, or the single
  feature 1 - cos(a, b) with norms sqrt(sum a^2 + 1e-12)), and the logit
  ``bias - sum |u_i| d_i``; the score is its sigmoid. The head runs in
  float64 by default (``model.head_dtype``), as Go's scoring does.

Training behaves as PyTorch's layers do: BatchNorm in ``train()`` mode
normalises with the batch statistics and updates the running ones with
``running = (1 - momentum) * running + momentum * batch`` (unbiased batch
variance), which is also the Go package's convention, with the momentum the
file gives (``Encoder.BNMomentum``, default 0.1); Dropout zeroes with the
configured rate and scales the rest by 1/(1 - rate), as Go's does. Stages
frozen by ``FrozenStages`` get ``requires_grad = False`` and keep their
BatchNorms in eval mode (running statistics) even in ``train()``, as Go's
frozen stages do. The file keeps the running statistics, which Go uses for
every score; ``num_batches_tracked`` is not stored (Go has no use for it).

Inputs are tensors already preprocessed as the model's ``Input`` config
says (size, channels, normalisation): see ``normalize`` for the last step.
The resizing of images is the user's: for bit-identical inputs, preprocess
in Go (``preprocess.Batch``) and hand the tensors over.

Everything ``siamese.Config`` can express is supported; a file whose
config has a field or value this module does not know is refused with an
error naming it. Use Debian's ``/usr/bin/python3`` with ``python3-torch``
(PyTorch 1.13) or any PyTorch >= 1.10; no other package is needed.
"""

import copy
import json
import math
import os
import struct
import sys
import tempfile

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "load", "save", "build", "SiameseNet", "ResNet", "normalize",
    "read_safetensors", "write_safetensors", "with_defaults", "validate",
    "FORMAT_NAME", "FORMAT_VERSION", "LABEL_CONVENTION",
]

FORMAT_NAME = "gosiamese-model"
FORMAT_VERSION = "1"
LABEL_CONVENTION = ("score = probability that the two images show the same thing; "
                    "label 1 = same, 0 = different")

# The tensors of a model; a file's other tensors (a Go trainer's optimiser
# state) are ignored on load, as siamese.Load ignores them.
_MODEL_PREFIXES = ("encoder.", "encoder_b.", "head.", "head_b.", "out.")

# resnet.Stages: the stem and layer1..layer4.
STAGES = 5

# internal/numeric.Eps, inside the cosine distance's norms.
COSINE_EPS = 1e-12

_DEPTHS = {18: ([2, 2, 2, 2], False), 34: ([3, 4, 6, 3], False), 50: ([3, 4, 6, 3], True),
           101: ([3, 4, 23, 3], True), 152: ([3, 8, 36, 3], True)}


class FormatError(ValueError):
    """A file or config this module cannot read: the message names the problem."""


def _err(msg):
    return FormatError("gosiamese_torch: " + msg)


# --- safetensors ---------------------------------------------------------

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
           "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
           "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
          "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def read_safetensors(path):
    """Read a safetensors file: returns (tensors, metadata), a dict of name to
    CPU tensor and the header's ``__metadata__`` dict of strings."""
    if sys.byteorder != "little":
        raise _err("safetensors data is little-endian; this machine is not")
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise _err(f"{path}: {len(raw)} bytes, too short for safetensors")
    (n,) = struct.unpack("<Q", raw[:8])
    if n < 2 or 8 + n > len(raw):
        raise _err(f"{path}: header length {n} does not fit a file of {len(raw)} bytes")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise _err(f"{path}: header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise _err(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _err(f"{path}: __metadata__ is not an object of strings")
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        try:
            dt, shape, (lo, hi) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise _err(f"{path}: tensor {name}: malformed entry {info!r}") from None
        if dt not in _DTYPES:
            raise _err(f"{path}: tensor {name}: unknown dtype {dt}")
        count = math.prod(shape)
        if any(d < 0 for d in shape) or not 0 <= lo <= hi <= len(data) or hi - lo != count * _SIZES[dt]:
            raise _err(f"{path}: tensor {name}: shape {shape}, offsets [{lo}, {hi}] "
                       f"do not fit {len(data)} bytes of data")
        if count == 0:
            t = torch.empty(shape, dtype=_DTYPES[dt])
        else:
            t = torch.frombuffer(bytearray(data[lo:hi]), dtype=_DTYPES[dt]).reshape(shape)
        out[name] = t
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """Write tensors (name -> tensor) and string metadata to path as
    safetensors, atomically (a temporary file renamed over path), in the
    canonical layout the Go package writes: names sorted, data contiguous,
    the data aligned to 8 bytes."""
    if sys.byteorder != "little":
        raise _err("safetensors data is little-endian; this machine is not")
    rev = {v: k for k, v in _DTYPES.items()}
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in rev:
            raise _err(f"tensor {name}: dtype {t.dtype} has no safetensors name here")
        b = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": rev[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --- configuration -------------------------------------------------------

# The JSON fields of siamese.Config, resnet.Config and preprocess.Config.
_CONFIG_FIELDS = {"Encoder", "EncoderWeights", "FrozenStages", "Hidden", "Dropout", "Distance",
                  "Input", "SeparateTowers", "Seed"}
_ENCODER_FIELDS = {"Depth", "InChannels", "Width", "Pooling", "NumClasses", "BNEps", "BNMomentum", "Seed"}
_INPUT_FIELDS = {"Size", "Channels", "Norm", "Filter", "NoCrop", "Invert"}


def with_defaults(config):
    """Return a copy of a gosiamese config dict (the model file's ``config``
    JSON) with the Go defaults filled in, as siamese.Config.WithDefaults."""
    c = copy.deepcopy(config)
    enc = c.setdefault("Encoder", {}) or {}
    c["Encoder"] = enc
    inp = c.setdefault("Input", {}) or {}
    c["Input"] = inp
    if not enc.get("Depth"):
        enc["Depth"] = 50
    if not inp.get("Size"):
        inp["Size"] = 64
    if not inp.get("Channels"):
        inp["Channels"] = 3
    inp.setdefault("Norm", "imagenet")
    inp.setdefault("Filter", "linear")
    inp.setdefault("NoCrop", False)
    if not enc.get("InChannels"):
        enc["InChannels"] = inp["Channels"]
    if not enc.get("Width"):
        enc["Width"] = 64
    enc.setdefault("Pooling", "avg")
    enc.setdefault("NumClasses", 0)
    if not enc.get("BNEps"):
        enc["BNEps"] = 1e-5
    if not enc.get("BNMomentum"):
        enc["BNMomentum"] = 0.1
    enc.setdefault("Seed", 0)
    if c.get("Hidden") is None:
        c["Hidden"] = [1024, 512]
    d = c.get("Dropout") or 0
    c["Dropout"] = 0.2 if d == 0 else (-1 if d < 0 else d)
    c.setdefault("Distance", "l1")
    c.setdefault("FrozenStages", 0)
    c.setdefault("SeparateTowers", False)
    c.setdefault("Seed", 0)
    c.pop("EncoderWeights", None)
    return c


def validate(config):
    """Raise FormatError naming the first field of config (after defaults)
    that this module cannot build, or return the defaulted config."""
    def unknown(fields, known, where):
        for k in fields:
            if k not in known:
                raise _err(f"config field {where}{k} is unknown here "
                           "(a newer gosiamese? this module reads format version 1)")
    if not isinstance(config, dict):
        raise _err("config is not a JSON object")
    unknown(config, _CONFIG_FIELDS, "")
    unknown(config.get("Encoder") or {}, _ENCODER_FIELDS, "Encoder.")
    unknown(config.get("Input") or {}, _INPUT_FIELDS, "Input.")
    c = with_defaults(config)
    enc, inp = c["Encoder"], c["Input"]

    def bad(field, why):
        raise _err(f"config field {field}: {why}")
    if enc["Depth"] not in _DEPTHS:
        bad("Encoder.Depth", f"{enc['Depth']} (want 18, 34, 50, 101 or 152)")
    for f in ("Width", "InChannels"):
        if not isinstance(enc[f], int) or enc[f] <= 0:
            bad("Encoder." + f, f"{enc[f]!r}")
    if enc["Pooling"] not in ("avg", "max", "none"):
        bad("Encoder.Pooling", f"{enc['Pooling']!r} (want avg, max or none)")
    if enc["NumClasses"] != 0:
        bad("Encoder.NumClasses", f"{enc['NumClasses']} (a Siamese encoder has no classifier top)")
    if enc["BNEps"] < 0:
        bad("Encoder.BNEps", f"{enc['BNEps']}")
    if not 0 <= enc["BNMomentum"] <= 1:
        bad("Encoder.BNMomentum", f"{enc['BNMomentum']} outside [0, 1]")
    if inp["Channels"] not in (1, 3):
        bad("Input.Channels", f"{inp['Channels']} (want 1 or 3)")
    if enc["InChannels"] != inp["Channels"]:
        bad("Encoder.InChannels", f"{enc['InChannels']} but Input.Channels is {inp['Channels']}")
    if not isinstance(inp["Size"], int) or inp["Size"] < 32:
        bad("Input.Size", f"{inp['Size']!r} (want at least 32)")
    if inp["Norm"] not in ("imagenet", "caffe", "unit"):
        bad("Input.Norm", f"{inp['Norm']!r} (want imagenet, caffe or unit)")
    if inp["Filter"] not in ("linear", "lanczos", "catmullrom", "box", "nearest"):
        bad("Input.Filter", f"{inp['Filter']!r} (want linear, lanczos, catmullrom, box or nearest)")
    if not isinstance(c["FrozenStages"], int) or not 0 <= c["FrozenStages"] <= STAGES:
        bad("FrozenStages", f"{c['FrozenStages']!r} outside 0..{STAGES}")
    if not isinstance(c["Hidden"], list) or any(not isinstance(h, int) or h <= 0 for h in c["Hidden"]):
        bad("Hidden", f"{c['Hidden']!r} (want a list of positive sizes)")
    if c["Dropout"] >= 1:
        bad("Dropout", f"rate {c['Dropout']} is not below 1")
    if c["Distance"] not in ("l1", "l2", "cosine"):
        bad("Distance", f"{c['Distance']!r} (want l1, l2 or cosine)")
    if not isinstance(c["SeparateTowers"], bool):
        bad("SeparateTowers", f"{c['SeparateTowers']!r}")
    return c


def encoder_features(config):
    """Channels of the encoder's last feature map (resnet.Config.Features)."""
    enc = with_defaults(config)["Encoder"]
    return enc["Width"] * 8 * (4 if _DEPTHS[enc["Depth"]][1] else 1)


def encoder_output(config):
    """Values per image out of the encoder, flattened (resnet.Config.OutputSize)."""
    c = with_defaults(config)
    f = encoder_features(c)
    if c["Encoder"]["Pooling"] == "none":
        s = (c["Input"]["Size"] + 31) // 32
        f *= s * s
    return f


def embedding_size(config):
    """Length of one tower's embedding (siamese.Config.EmbeddingSize)."""
    c = with_defaults(config)
    return c["Hidden"][-1] if c["Hidden"] else encoder_output(c)


# --- the network ---------------------------------------------------------

class _Block(nn.Module):
    """torchvision's BasicBlock or Bottleneck (stride on the 3x3), same names."""

    def __init__(self, inplanes, planes, stride, bottleneck, eps, momentum):
        super().__init__()
        out = planes * 4 if bottleneck else planes
        if bottleneck:
            specs = [(inplanes, planes, 1, 1, 0), (planes, planes, 3, stride, 1), (planes, out, 1, 1, 0)]
        else:
            specs = [(inplanes, planes, 3, stride, 1), (planes, planes, 3, 1, 1)]
        self.n = len(specs)
        for i, (cin, cout, k, s, p) in enumerate(specs, 1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, k, s, p, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(cout, eps=eps, momentum=momentum))
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride, 0, bias=False),
                                            nn.BatchNorm2d(out, eps=eps, momentum=momentum))

    def forward(self, x):
        y = x
        for i in range(1, self.n + 1):
            y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
            if i < self.n:
                y = F.relu(y)
        idn = x if self.downsample is None else self.downsample(x)
        return F.relu(y + idn)


class ResNet(nn.Module):
    """The Go package's resnet.Encoder without top: torchvision's ResNet with
    state-dict names conv1, bn1, layer1..layer4, any stem width, and avg, max
    or no pooling (the feature map flattened in NCHW order)."""

    def __init__(self, depth=50, in_channels=3, width=64, pooling="avg", eps=1e-5, momentum=0.1):
        super().__init__()
        counts, bottleneck = _DEPTHS[depth]
        self.pooling = pooling
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=eps, momentum=momentum)
        inplanes = width
        for s in range(4):
            planes = width << s
            blocks = []
            for i in range(counts[s]):
                stride = 2 if i == 0 and s > 0 else 1
                blocks.append(_Block(inplanes, planes, stride, bottleneck, eps, momentum))
                inplanes = planes * 4 if bottleneck else planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def stages(self):
        """The modules resnet.Freeze counts as stages 1..5."""
        return [nn.ModuleList([self.conv1, self.bn1]), self.layer1, self.layer2, self.layer3, self.layer4]

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.max_pool2d(y, 3, 2, 1)
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        if self.pooling == "avg":
            return y.mean(dim=(2, 3))
        if self.pooling == "max":
            return y.amax(dim=(2, 3))
        return y


class SiameseNet(nn.Module):
    """The gosiamese Siamese network for a config dict (the model file's
    ``config``). ``forward(a, b)`` returns the logits (N,) of the pairs
    (a, b), each (N, C, S, S) preprocessed; ``score`` their sigmoid;
    ``embed(x, tower)`` the embeddings. Parameters are torch-initialised
    (Kaiming for convolutions, PyTorch's Linear default); ``load`` fills
    them from a file. ``threshold`` and ``info`` are the file's verdict
    threshold and provenance notes, written back by ``save``."""

    def __init__(self, config):
        super().__init__()
        c = validate(config)
        self.config = c
        enc = c["Encoder"]
        self.distance = c["Distance"]
        self.dropout = c["Dropout"] if c["Dropout"] > 0 else 0.0
        self.frozen_stages = c["FrozenStages"]
        self.separate = c["SeparateTowers"]
        self.head_dtype = torch.float64
        self.threshold = 0.5
        self.info = {}
        towers = ("", "_b") if self.separate else ("",)
        for t in towers:
            e = ResNet(enc["Depth"], enc["InChannels"], enc["Width"], enc["Pooling"],
                       enc["BNEps"], enc["BNMomentum"])
            setattr(self, "encoder" + t, e)
            layers, n = [], encoder_output(c)
            for h in c["Hidden"]:
                layers.append(nn.Linear(n, h))
                n = h
            setattr(self, "head" + t, nn.ModuleList(layers))
        self.out = nn.Linear(1 if self.distance == "cosine" else embedding_size(c), 1)
        self._freeze()

    def _encoders(self):
        return [self.encoder, self.encoder_b] if self.separate else [self.encoder]

    def _frozen_modules(self):
        for e in self._encoders():
            for st in e.stages()[:self.frozen_stages]:
                yield st

    def _freeze(self):
        for st in self._frozen_modules():
            for p in st.parameters():
                p.requires_grad_(False)

    def train(self, mode=True):
        """As nn.Module.train, except that the BatchNorms of frozen stages stay
        in eval mode (running statistics), as in the Go package."""
        super().train(mode)
        for st in self._frozen_modules():
            st.eval()
        return self

    def _tower(self, x, t):
        e = self.encoder_b if t == 1 and self.separate else self.encoder
        head = self.head_b if t == 1 and self.separate else self.head
        y = torch.flatten(e(x), 1)
        for d in head:
            y = F.relu(d(y))
            if self.dropout > 0:
                y = F.dropout(y, self.dropout, self.training)
        return y

    def embed(self, x, tower=0):
        """Embeddings (N, F) of preprocessed images x (N, C, S, S) by tower 0
        (first image of a pair) or 1 (second; the same unless the towers are
        separate)."""
        return self._tower(x, tower)

    def pair_embeddings(self, a, b):
        """Embeddings of the pairs: with shared towers a and b go through the
        tower as one batch of 2N, as the Go trainer sends them."""
        if self.separate:
            return self._tower(a, 0), self._tower(b, 1)
        e = self._tower(torch.cat([a, b], 0), 0)
        return e[:a.shape[0]], e[a.shape[0]:]

    def distances(self, ea, eb):
        """The per-pair distance features d (N, F), or (N, 1) for cosine."""
        ea, eb = ea.to(self.head_dtype), eb.to(self.head_dtype)
        if self.distance == "l1":
            return (ea - eb).abs()
        if self.distance == "l2":
            return (ea - eb) ** 2
        dot = (ea * eb).sum(1)
        na = torch.sqrt((ea * ea).sum(1) + COSINE_EPS)
        nb = torch.sqrt((eb * eb).sum(1) + COSINE_EPS)
        return (1 - dot / (na * nb)).unsqueeze(1)

    def logits_of_embeddings(self, ea, eb):
        """The logits (N,) bias - sum |u_i| d_i of embeddings (N, F)."""
        d = self.distances(ea, eb)
        u = self.out.weight.to(self.head_dtype).abs()  # (1, F)
        return self.out.bias.to(self.head_dtype) - (d * u).sum(1)

    def forward(self, a, b):
        ea, eb = self.pair_embeddings(a, b)
        return self.logits_of_embeddings(ea, eb)

    def score(self, a, b):
        """Scores (N,) in [0, 1]: the probability that the pairs match."""
        return torch.sigmoid(self(a, b))


def build(config):
    """A freshly initialised SiameseNet for config (a dict as in the file)."""
    return SiameseNet(config)


def _model_state(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load(path, map_location="cpu"):
    """Read a gosiamese model file: returns (model, config), a SiameseNet in
    eval mode holding the file's parameters and BatchNorm statistics, and
    the config dict with defaults filled in. Tensors outside the model's
    names (a Go checkpoint's optimiser state) are ignored; a missing,
    unexpected or misshapen model tensor is an error naming it."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") != FORMAT_NAME:
        raise _err(f"{path} is not a gosiamese model (format {meta.get('format')!r}, want {FORMAT_NAME!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise _err(f"{path}: unknown format version {meta.get('format_version')!r} "
                   f"(this module reads {FORMAT_VERSION!r})")
    try:
        config = json.loads(meta.get("config", ""))
    except ValueError as e:
        raise _err(f"{path}: config is not JSON: {e}") from None
    model = SiameseNet(config)
    try:
        model.threshold = float(meta.get("threshold", "0.5"))
    except ValueError:
        raise _err(f"{path}: threshold {meta.get('threshold')!r}") from None
    if not 0 <= model.threshold <= 1:
        raise _err(f"{path}: threshold {model.threshold} outside [0, 1]")
    try:
        info = json.loads(meta["info"]) if meta.get("info") else {}
    except ValueError as e:
        raise _err(f"{path}: info is not JSON: {e}") from None
    if not isinstance(info, dict):
        raise _err(f"{path}: info is not a JSON object")
    model.info = {str(k): str(v) for k, v in info.items()}
    want = _model_state(model)
    problems = []
    for name, t in tensors.items():
        if not name.startswith(_MODEL_PREFIXES) or name.endswith("num_batches_tracked"):
            continue
        if name not in want:
            problems.append(f"unexpected {name} {list(t.shape)}")
        elif list(t.shape) != list(want[name].shape):
            problems.append(f"{name}: shape {list(want[name].shape)}, file has {list(t.shape)}")
        elif not t.is_floating_point():
            problems.append(f"{name}: dtype {t.dtype}, want a float type")
    problems += [f"missing {n} {list(v.shape)}" for n, v in want.items() if n not in tensors]
    if problems:
        raise _err(f"{path}: the file does not match its config:\n\t" + "\n\t".join(problems))
    with torch.no_grad():
        for name, v in want.items():
            v.copy_(tensors[name].to(v.dtype))
    model.eval()
    return model.to(map_location), model.config


def save(model, config, path, threshold=None, info=None):
    """Write model to path as a gosiamese model file that siamese.Load reads:
    every parameter and BatchNorm running statistic as float32 under the Go
    names, and the metadata (format, version, config, label convention,
    threshold, info). config is the dict load returned, or None for
    model.config; it must describe model's architecture. threshold and info
    default to model.threshold and model.info. A NaN or infinite value is
    refused before anything is written. The file appears complete or not at
    all."""
    c = validate(model.config if config is None else config)
    state = _model_state(model)
    want = _model_state(SiameseNet(c)) if c != model.config else state
    for n, v in want.items():
        if n not in state or state[n].shape != v.shape:
            raise _err(f"config does not describe the model: {n} {list(v.shape)}")
    tensors = {}
    for n, v in state.items():
        v = v.detach().to("cpu", torch.float32)
        if not torch.isfinite(v).all():
            raise _err(f"{n} holds a NaN or infinite value; not saved")
        tensors[n] = v
    t = model.threshold if threshold is None else float(threshold)
    if not 0 <= t <= 1:
        raise _err(f"threshold {t} outside [0, 1]")
    notes = dict(model.info if info is None else info)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(c, separators=(",", ":")),
        "label_convention": LABEL_CONVENTION,
        "threshold": repr(float(t)),
        "info": json.dumps({str(k): str(v) for k, v in notes.items()}, separators=(",", ":")),
    }
    write_safetensors(path, tensors, meta)


# Per-channel constants of preprocess.Normalization, in RGB order.
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_IMAGENET_GREY = (0.449, 0.226)
_CAFFE = (123.68, 116.779, 103.939)
_CAFFE_GREY = 114.799


def normalize(x, config):
    """The last step of the Go preprocessing: x holds images already resized
    to the model's Input.Size, values in [0, 1], (N, 3, S, S) RGB or
    (N, 1, S, S) grey (PIL's "L" weights 0.299, 0.587, 0.114); applies
    Input.Invert and Input.Norm (imagenet, caffe in BGR order, unit)."""
    inp = with_defaults(config)["Input"]
    x = x.to(torch.float32)
    if inp.get("Invert"):
        x = 1 - x
    norm, grey = inp["Norm"], x.shape[1] == 1
    if norm == "imagenet":
        if grey:
            return (x - _IMAGENET_GREY[0]) / _IMAGENET_GREY[1]
        m = torch.tensor(_IMAGENET[0], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        s = torch.tensor(_IMAGENET[1], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - m) / s
    if norm == "caffe":
        if grey:
            return x * 255 - _CAFFE_GREY
        m = torch.tensor(_CAFFE[::-1], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return x.flip(1) * 255 - m
    return x
