package tfeventstest

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"tbhost/tfevents"
)

// Runs of the generated corpus, for tests that look for one form.
const (
	RunRoot          = "."                                             // a file directly in the log dir
	RunTF1           = "tf1/train"                                     // TF1 FileWriter: merged simple_values, histo, image, audio, text, graph, run metadata, START; a restart file
	RunTF1Old        = "tf1/old"                                       // file_version "brain.Event:1"
	RunTF2Train      = "tf2/train"                                     // TF2 tf.summary / Keras: tensors of every plugin, Keras model config
	RunTF2Validation = "tf2/validation"                                // TF2 scalars
	RunKerasHParams  = "keras_hparams"                                 // hparams experiment (hp.hparams_config)
	RunKerasSession  = "keras_hparams/run-0"                           // hparams session start/end + metrics (hp.KerasCallback)
	RunPyTorch       = "pytorch/runs/Jan01_00-00-00_host"              // PyTorch SummaryWriter / tensorboardX
	RunPyTorchHParam = "pytorch/runs/Jan01_00-00-00_host/1700000100.5" // add_hparams: experiment, session start/end and metrics in a sub-run
	RunOddNames      = `sweep/lr=0.1,bs=32/run with spaces\and backslash`
	RunDefects       = "defects"
)

// Generate writes the generated corpus into a fresh tb.TempDir() and
// returns it. It fails the test if writing fails.
func Generate(tb testing.TB) *Corpus {
	tb.Helper()
	c, err := Write(tb.TempDir())
	if err != nil {
		tb.Fatalf("tfeventstest: generating the corpus: %v", err)
	}
	return c
}

// Write writes the generated corpus into dir (which should be empty) with
// tfevents.Writer and returns it. The files and their bytes are the same
// on every call.
func Write(dir string) (*Corpus, error) {
	g := &corpusGen{dir: dir}
	g.root()
	g.tf1()
	g.tf2()
	g.kerasHParams()
	g.pytorch()
	g.oddNames()
	g.defects()
	if g.err != nil {
		return nil, g.err
	}
	for _, name := range []string{"tf2/train/projector_config.pbtxt", "defects/checkpoint", "tf1/train/model.ckpt-10.index"} {
		if err := g.put(name, []byte("not an event file\n")); err != nil {
			return nil, err
		}
	}
	sort.Slice(g.files, func(i, j int) bool { return g.files[i].Path < g.files[j].Path })
	return &Corpus{Root: dir, LogDir: dir, Files: g.files, Generated: true}, nil
}

type corpusGen struct {
	dir   string
	files []File
	err   error
}

func (g *corpusGen) put(name string, b []byte) error {
	p := filepath.Join(g.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("tfeventstest: writing %s: %w", name, err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("tfeventstest: writing %s: %w", name, err)
	}
	return nil
}

// note is one value the generator wrote, as inspect must count it.
type note struct {
	tag        string
	metaPlugin string // the plugin its metadata names, "" when it carries none
	kindPlugin string // the plugin its oneof kind implies (TF1 forms), else ""
	step       int64
	scalar     bool
	value      float64 // as the file holds it (float32 for simple_value and FLOAT)
}

type record struct {
	end   int // offset just past the record
	notes []note
	bad   bool // written undecodable
}

// fileGen writes one event file and keeps what each record holds.
type fileGen struct {
	buf      bytes.Buffer
	w        *tfevents.Writer
	recs     []record
	metaSent map[string]bool
	err      error
}

func newFile(metadataOnce bool) *fileGen {
	f := &fileGen{metaSent: map[string]bool{}}
	f.w = tfevents.NewWriter(&f.buf)
	f.w.MetadataOnce = metadataOnce
	return f
}

func (f *fileGen) done(err error, notes ...note) {
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("tfeventstest: writing record %d: %w", len(f.recs), err)
	}
	f.recs = append(f.recs, record{end: f.buf.Len(), notes: notes})
}

// meta returns the plugin the next value of tag carries metadata for.
func (f *fileGen) meta(tag, plugin string) string {
	if f.w.MetadataOnce && f.metaSent[tag] {
		return ""
	}
	f.metaSent[tag] = true
	return plugin
}

func (f *fileGen) version(wall float64, v string) { f.done(f.w.WriteVersion(wall, v)) }

func (f *fileGen) start(step int64, wall float64) { f.done(f.w.WriteSessionStart(step, wall)) }

// simple writes a TF1 simple_value with no metadata.
func (f *fileGen) simple(tag string, step int64, wall, v float64) {
	f.done(f.w.WriteScalar(tag, step, wall, v), note{tag: tag, kindPlugin: tfevents.PluginScalars, step: step, scalar: true, value: f32(v)})
}

// simpleMeta writes a simple_value carrying scalars metadata (tensorboardX).
func (f *fileGen) simpleMeta(tag string, step int64, wall, v float64) {
	err := f.w.WriteSimpleValue(&tfevents.Value{Tag: tag, Plugin: tfevents.PluginScalars, Step: step, WallTime: wall, Scalar: v, DisplayName: tag})
	f.done(err, note{tag: tag, metaPlugin: f.meta(tag, tfevents.PluginScalars), kindPlugin: tfevents.PluginScalars, step: step, scalar: true, value: f32(v)})
}

// merged writes one Event of several simple_values (TF1 merge_all).
func (f *fileGen) merged(step int64, wall float64, tags []string, vals []float64) {
	var notes []note
	for i, tag := range tags {
		notes = append(notes, note{tag: tag, kindPlugin: tfevents.PluginScalars, step: step, scalar: true, value: f32(vals[i])})
	}
	f.done(f.w.WriteMerged(step, wall, tags, vals), notes...)
}

// tensorScalar writes a rank-0 tensor of dtype dt; plugin "" writes no metadata.
func (f *fileGen) tensorScalar(tag, plugin string, dt int32, step int64, wall, v float64) {
	err := f.w.WriteValue(&tfevents.Value{Tag: tag, Plugin: plugin, Step: step, WallTime: wall, Kind: tfevents.KindScalar, Scalar: v, DType: dt})
	held := v
	switch dt {
	case tfevents.DTFloat, 0:
		held = f32(v)
	case tfevents.DTInt32:
		held = float64(int32(v))
	case tfevents.DTInt64:
		held = float64(int64(v))
	}
	f.done(err, note{tag: tag, metaPlugin: f.meta(tag, plugin), step: step, scalar: true, value: held})
}

// value writes v in TF2 form (WriteValue), a value that is not a scalar.
func (f *fileGen) value(v *tfevents.Value, metaPlugin string) {
	step := v.Step
	tag := v.Tag
	var n note
	switch v.Kind {
	case tfevents.KindGraph:
		n = note{tag: tfevents.GraphTag, metaPlugin: tfevents.PluginGraphs, step: step}
	case tfevents.KindRunMetadata:
		n = note{tag: tag, metaPlugin: tfevents.PluginTaggedRunMetadata, step: step}
	default:
		n = note{tag: tag, metaPlugin: f.meta(tag, metaPlugin), step: step}
	}
	f.done(f.w.WriteValue(v), n)
}

func (f *fileGen) histoTF1(tag string, step int64, wall float64, h tfevents.HistogramTF1) {
	f.done(f.w.WriteHistogramTF1(tag, step, wall, h), note{tag: tag, kindPlugin: tfevents.PluginHistograms, step: step})
}

func (f *fileGen) imageTF1(tag string, step int64, wall float64, w, h int, img []byte) {
	f.done(f.w.WriteImageTF1(tag, step, wall, w, h, img), note{tag: tag, kindPlugin: tfevents.PluginImages, step: step})
}

func (f *fileGen) audioTF1(tag string, step int64, wall float64, clip []byte) {
	f.done(f.w.WriteAudioTF1(tag, step, wall, clip, "audio/wav"), note{tag: tag, kindPlugin: tfevents.PluginAudio, step: step})
}

func (f *fileGen) hparams(tag string, step int64, wall float64, content []byte) {
	f.done(f.w.WriteMetadataOnly(tag, step, wall, tfevents.PluginHParams, content), note{tag: tag, metaPlugin: tfevents.PluginHParams, step: step})
}

// undecodable writes a record whose CRCs are right and whose payload is no Event.
func (f *fileGen) undecodable() {
	f.done(f.w.WriteRecord([]byte{0x0a, 0xff, 0xff}))
	f.recs[len(f.recs)-1].bad = true
}

// defect is what is done to a file's bytes once written.
type defect struct {
	truncate     int // bytes cut off the end (inside the last record)
	badPayloadAt int // 1-based record whose payload CRC is broken
	badLengthAt  int // 1-based record whose length CRC is broken
}

// finish applies d, writes the file as name and records its expected facts.
func (g *corpusGen) finish(name, form string, f *fileGen, d defect) {
	if f.err != nil {
		g.fail(f.err)
		return
	}
	b := bytes.Clone(f.buf.Bytes())
	fi := File{Path: name, Run: path.Dir(name), Form: form}
	start := 0
	recs := f.recs
	if d.truncate > 0 {
		b = b[:len(b)-d.truncate]
		fi.Truncated = true
		for len(recs) > 0 && recs[len(recs)-1].end > len(b) {
			recs = recs[:len(recs)-1]
		}
	}
	var live []note
	for i, r := range recs {
		switch {
		case i+1 == d.badLengthAt:
			b[start+8] ^= 0x01 // the length's masked CRC
			fi.Corrupt = true
		case i+1 == d.badPayloadAt:
			b[r.end-1] ^= 0x80 // the payload's masked CRC
			fi.BadRecords++
		case r.bad:
			fi.BadRecords++
		default:
			fi.Records++
			live = append(live, r.notes...)
		}
		if fi.Corrupt {
			break
		}
		start = r.end
	}
	fi.Tags = tagFacts(live)
	if err := g.put(name, b); err != nil {
		g.fail(err)
		return
	}
	g.files = append(g.files, fi)
}

func (g *corpusGen) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// tagFacts computes the inspect facts of the values the file holds.
func tagFacts(notes []note) []Tag {
	byTag := map[string]*Tag{}
	plugin := map[string]string{}
	finite := map[string]int{}
	for _, n := range notes {
		t := byTag[n.tag]
		if t == nil {
			t = &Tag{Tag: n.tag, MinStep: n.step, MaxStep: n.step}
			byTag[n.tag] = t
			plugin[n.tag] = n.kindPlugin
		}
		if n.metaPlugin != "" && t.Plugin == "" {
			t.Plugin = n.metaPlugin // the first metadata wins
		}
		t.Count++
		t.MinStep, t.MaxStep = min(t.MinStep, n.step), max(t.MaxStep, n.step)
		if !n.scalar {
			continue
		}
		v := n.value
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.NonFinite++
			continue
		}
		if finite[n.tag] == 0 {
			t.Min, t.Max = ptr(v), ptr(v)
		}
		finite[n.tag]++
		t.Min, t.Max, t.Last = ptr(min(*t.Min, v)), ptr(max(*t.Max, v)), ptr(v)
	}
	tags := []Tag{}
	for name, t := range byTag {
		if t.Plugin == "" {
			t.Plugin = plugin[name]
		}
		tags = append(tags, *t)
	}
	slices.SortFunc(tags, func(a, b Tag) int {
		if a.Tag < b.Tag {
			return -1
		}
		if a.Tag > b.Tag {
			return 1
		}
		return 0
	})
	return tags
}

func ptr(v float64) *float64 { return &v }

func f32(v float64) float64 { return float64(float32(v)) }

func (g *corpusGen) root() {
	f := newFile(false)
	f.version(1.4e9, "brain.Event:2")
	for s := int64(0); s < 3; s++ {
		f.simple("root_metric", s, 1.4e9+float64(s), float64(s)*1.5)
	}
	g.finish("events.out.tfevents.1400000000.roothost", "TF1 scalars in the log dir itself", f, defect{})
}

// tf1 imitates TF1's FileWriter: metadata with the first value of a tag
// only, merged summaries, TF1 histo/image/audio, a graph and run metadata,
// SessionLog START; then a restart file that starts again at step 10.
func (g *corpusGen) tf1() {
	f := newFile(true)
	const wall = 1.5e9
	f.version(wall, "brain.Event:2")
	f.start(0, wall)
	f.value(&tfevents.Value{Kind: tfevents.KindGraph, WallTime: wall, Blob: []byte("\n\x05\n\x01x\x12\x00")}, "")
	for s := int64(0); s < 20; s++ {
		w := wall + float64(s)
		loss := 2 / float64(s+1)
		switch s {
		case 7:
			loss = math.NaN()
		case 13:
			loss = math.Inf(1)
		}
		f.merged(s, w, []string{"loss", "accuracy"}, []float64{loss, 0.5 + float64(s)/100})
		if s%5 == 0 {
			f.histoTF1("layer1/weights", s, w, tfevents.HistogramTF1{
				Min: -1.5, Max: 2.5 + float64(s), Num: 10, Sum: 3, SumSquares: 9,
				Limits: []float64{-2, -1, 0, 1, 2, 3, 1e300}, Counts: []float64{0, 2, 3, 0, 4, 1, 0},
			})
		}
		if s%10 == 0 {
			f.imageTF1("input/image/0", s, w, 2, 2, []byte("\x89PNG fake image"))
			f.audioTF1("speech/audio/0", s, w, []byte("RIFF fake wav"))
			f.value(&tfevents.Value{Tag: "notes/text_summary", Plugin: tfevents.PluginText, Step: s, WallTime: w, Kind: tfevents.KindText,
				Strings: [][]byte{[]byte("step " + strconv.Itoa(int(s)))}, Shape: []int64{}}, tfevents.PluginText)
			f.value(&tfevents.Value{Tag: "step_" + strconv.Itoa(int(s)), Step: s, WallTime: w, Kind: tfevents.KindRunMetadata, Blob: []byte("\x0a\x00run metadata")}, "")
		}
	}
	g.finish(RunTF1+"/events.out.tfevents.1500000000.tf1host", "TF1 FileWriter", f, defect{})

	r := newFile(true)
	r.version(wall+100, "brain.Event:2")
	r.start(10, wall+100)
	for s := int64(10); s < 15; s++ {
		r.merged(s, wall+100+float64(s), []string{"loss", "accuracy"}, []float64{1 / float64(s), 0.9})
	}
	g.finish(RunTF1+"/events.out.tfevents.1500000100.tf1host", "TF1 restart from a checkpoint (START at step 10)", r, defect{})

	o := newFile(false)
	o.version(1.45e9, "brain.Event:1")
	for s := int64(0); s < 4; s++ {
		o.simple("old/metric", s*100, 1.45e9+float64(s), -float64(s))
	}
	g.finish(RunTF1Old+"/events.out.tfevents.1450000000.oldhost", "file_version brain.Event:1", o, defect{})
}

// tf2 imitates TF2's tf.summary and the Keras callback: metadata on every
// value, scalars as rank-0 tensors of several dtypes, [k,3] histograms,
// string tensors for images, audio and text, pr_curves, the Keras model.
func (g *corpusGen) tf2() {
	f := newFile(false)
	const wall = 1.6e9
	f.version(wall, "brain.Event:2")
	keras := tfevents.SummaryMetadata("graph_keras_model", []byte("1"))
	f.value(&tfevents.Value{Tag: "keras", Kind: tfevents.KindTensor, DType: tfevents.DTString, Shape: []int64{}, WallTime: wall,
		Strings: [][]byte{[]byte(`{"class_name": "Sequential", "config": {"name": "sequential"}}`)}, Metadata: keras}, "graph_keras_model")
	for s := int64(0); s < 8; s++ {
		w := wall + float64(s)
		f.tensorScalar("epoch_loss", tfevents.PluginScalars, tfevents.DTFloat, s, w, 1/float64(s+2))
		f.tensorScalar("learning_rate", tfevents.PluginScalars, tfevents.DTDouble, s, w, 0.001*math.Pow(0.9, float64(s)))
		f.tensorScalar("batch_size", tfevents.PluginScalars, tfevents.DTInt32, s, w, float64(int64(32)<<(s%3)))
		f.tensorScalar("examples_seen", tfevents.PluginScalars, tfevents.DTInt64, s, w, float64(s)*1e10)
		f.tensorScalar("no_metadata_scalar", "", tfevents.DTFloat, s, w, float64(s)-3.25)
		buckets := [][3]float64{{-1, 0, float64(s)}, {0, 1, 2}, {1, 2.5, 1}}
		if s == 3 {
			buckets = nil // k = 0
		}
		f.value(&tfevents.Value{Tag: "dense/kernel_0", Plugin: tfevents.PluginHistograms, Step: s, WallTime: w, Kind: tfevents.KindHistogram, Buckets: buckets}, tfevents.PluginHistograms)
		f.value(&tfevents.Value{Tag: "dense/bias_0", Plugin: tfevents.PluginHistograms, Step: s, WallTime: w, Kind: tfevents.KindTensor, DType: tfevents.DTFloat,
			Floats: []float64{0, 0.5, 3, 0.5, 1, float64(s)}, Shape: []int64{2, 3}}, tfevents.PluginHistograms)
		if s%4 == 0 {
			f.value(&tfevents.Value{Tag: "samples", Plugin: tfevents.PluginImages, Step: s, WallTime: w, Kind: tfevents.KindImage,
				Strings: [][]byte{[]byte("3"), []byte("2"), []byte("\x89PNG one"), []byte("\x89PNG two")}}, tfevents.PluginImages)
			f.value(&tfevents.Value{Tag: "waveform", Plugin: tfevents.PluginAudio, Step: s, WallTime: w, Kind: tfevents.KindAudio, ContentType: "audio/wav",
				Strings: [][]byte{[]byte("RIFF a"), []byte("label a"), []byte("RIFF b"), nil}}, tfevents.PluginAudio)
			f.value(&tfevents.Value{Tag: "text/rank0", Plugin: tfevents.PluginText, Step: s, WallTime: w, Kind: tfevents.KindText,
				Strings: [][]byte{[]byte("**markdown**")}, Shape: []int64{}}, tfevents.PluginText)
			f.value(&tfevents.Value{Tag: "text/rank1", Plugin: tfevents.PluginText, Step: s, WallTime: w, Kind: tfevents.KindText,
				Strings: [][]byte{[]byte("a"), []byte("b"), []byte("c")}, Shape: []int64{3}}, tfevents.PluginText)
			f.value(&tfevents.Value{Tag: "text/rank2", Plugin: tfevents.PluginText, Step: s, WallTime: w, Kind: tfevents.KindText,
				Strings: [][]byte{[]byte("k"), []byte("v"), []byte("k2"), []byte("v2")}, Shape: []int64{2, 2}}, tfevents.PluginText)
			f.value(prCurve("pr/class_0", s, w), tfevents.PluginPRCurves)
		}
	}
	g.finish(RunTF2Train+"/events.out.tfevents.1600000000.tf2host.123.0.v2", "TF2 tf.summary / Keras", f, defect{})

	v := newFile(false)
	v.version(wall, "brain.Event:2")
	for s := int64(0); s < 8; s++ {
		v.tensorScalar("epoch_loss", tfevents.PluginScalars, tfevents.DTFloat, s, wall+float64(s), 1/float64(s+1))
		v.tensorScalar("epoch_accuracy", tfevents.PluginScalars, tfevents.DTFloat, s, wall+float64(s), float64(s)/8)
	}
	g.finish(RunTF2Validation+"/events.out.tfevents.1600000000.tf2host.123.1.v2", "TF2 Keras validation scalars", v, defect{})
}

// prCurve is a pr_curves value: a FLOAT tensor [6, 5] (TP, FP, TN, FN,
// precision, recall per threshold) with its plugin content.
func prCurve(tag string, step int64, wall float64) *tfevents.Value {
	const n = 5
	var fl []float64
	for row := 0; row < 6; row++ {
		for i := 0; i < n; i++ {
			fl = append(fl, float64(row*n+i+int(step))/10)
		}
	}
	content := protowire.AppendTag(nil, 2, protowire.VarintType) // num_thresholds
	content = protowire.AppendVarint(content, n)
	return &tfevents.Value{Tag: tag, Step: step, WallTime: wall, Kind: tfevents.KindTensor, DType: tfevents.DTFloat,
		Floats: fl, Shape: []int64{6, n}, Metadata: tfevents.SummaryMetadata(tfevents.PluginPRCurves, content)}
}

// kerasHParams imitates tensorboard.plugins.hparams.api: the experiment
// in the parent folder (hp.hparams_config), each session in its own run
// (hp.KerasCallback: session start, metrics, session end).
func (g *corpusGen) kerasHParams() {
	const wall = 1.65e9
	e := newFile(false)
	e.version(wall, "brain.Event:2")
	e.hparams("_hparams_/experiment", 0, wall, hpExperiment([]string{"num_units", "optimizer"}, []string{"accuracy"}))
	g.finish(RunKerasHParams+"/events.out.tfevents.1650000000.kerashost.1.0.v2", "Keras hparams experiment", e, defect{})

	s := newFile(false)
	s.version(wall, "brain.Event:2")
	s.hparams("_hparams_/session_start_info", 0, wall, hpSessionStart(wall, map[string]any{"num_units": 16.0, "optimizer": "adam"}))
	for step := int64(1); step <= 3; step++ {
		s.tensorScalar("accuracy", tfevents.PluginScalars, tfevents.DTFloat, step, wall+float64(step), 0.25*float64(step))
	}
	s.hparams("_hparams_/session_end_info", 0, wall+10, hpSessionEnd(wall+10))
	g.finish(RunKerasSession+"/events.out.tfevents.1650000001.kerashost.1.1.v2", "Keras hparams session", s, defect{})
}

// pytorch imitates torch.utils.tensorboard / tensorboardX.
func (g *corpusGen) pytorch() {
	const wall = 1.7e9
	f := newFile(false)
	f.version(wall, "brain.Event:2")
	f.value(&tfevents.Value{Kind: tfevents.KindGraph, WallTime: wall, Blob: []byte("\n\x07\n\x03fc1\x12\x00")}, "")
	f.value(&tfevents.Value{Tag: "step1", WallTime: wall, Kind: tfevents.KindRunMetadata, Blob: []byte("\x0a\x02\x08\x01")}, "")
	for s := int64(0); s < 10; s++ {
		w := wall + float64(s)
		f.simple("Loss/train", s, w, 3-float64(s)*0.25)
		f.simpleMeta("Loss/test", s, w, 3.5-float64(s)*0.2) // tensorboardX: simple_value with metadata
		f.w.TypedFields = true                              // new_style=True: float_val, no shape
		f.tensorScalar("lr", tfevents.PluginScalars, tfevents.DTFloat, s, w, 0.1/float64(s+1))
		f.w.TypedFields = false
		if s%3 == 0 {
			f.histoTF1("fc.weight", s, w, tfevents.HistogramTF1{Min: 0, Max: 4, Num: 6, Sum: 9, SumSquares: 20,
				Limits: []float64{1, 2, 3, 4}, Counts: []float64{1, 2, 0, 3}})
			f.imageTF1("inputs", s, w, 4, 4, []byte("\x89PNG pytorch"))
			f.audioTF1("clip", s, w, []byte("RIFF pytorch"))
		}
	}
	f.value(&tfevents.Value{Tag: "config/text_summary", Plugin: tfevents.PluginText, Step: 0, WallTime: wall, Kind: tfevents.KindText,
		Strings: [][]byte{[]byte("lr: 0.1")}, Shape: []int64{1}}, tfevents.PluginText)
	f.w.TypedFields = true
	f.value(prCurve("pr_curve", 9, wall+9), tfevents.PluginPRCurves)
	f.w.TypedFields = false
	g.finish(RunPyTorch+"/events.out.tfevents.1700000000.host.42.0", "PyTorch SummaryWriter / tensorboardX", f, defect{})

	h := newFile(false)
	h.version(wall+100, "brain.Event:2")
	h.hparams("_hparams_/experiment", 0, wall+100, hpExperiment([]string{"lr", "bsize"}, []string{"hparam/accuracy"}))
	h.hparams("_hparams_/session_start_info", 0, wall+100, hpSessionStart(wall+100, map[string]any{"lr": 0.1, "bsize": 32.0}))
	h.hparams("_hparams_/session_end_info", 0, wall+100, hpSessionEnd(wall+100))
	h.simple("hparam/accuracy", 0, wall+100, 0.875)
	g.finish(RunPyTorchHParam+"/events.out.tfevents.1700000100.host.42.1", "PyTorch add_hparams sub-run", h, defect{})
}

func (g *corpusGen) oddNames() {
	f := newFile(false)
	f.version(1.8e9, "brain.Event:2")
	f.simple("a tag with spaces/and=signs", 5, 1.8e9, 1)
	f.simple("a tag with spaces/and=signs", 6, 1.8e9, math.Inf(-1))
	g.finish(RunOddNames+"/events.out.tfevents.1800000000.host", "odd run and tag names", f, defect{})
}

// scalarsFile is a plain TF1 scalar file of n steps.
func scalarsFile(n int64) *fileGen {
	f := newFile(false)
	f.version(1.9e9, "brain.Event:2")
	for s := int64(0); s < n; s++ {
		f.simple("value", s, 1.9e9+float64(s), float64(s*s))
	}
	return f
}

func (g *corpusGen) defects() {
	g.finish(RunDefects+"/truncated/events.out.tfevents.1900000001.host", "truncated tail", scalarsFile(6), defect{truncate: 5})
	bad := scalarsFile(6)
	bad.undecodable()
	bad.simple("value", 6, 1.9e9+6, 36)
	g.finish(RunDefects+"/bad_records/events.out.tfevents.1900000002.host", "bad payload CRC and an undecodable record", bad, defect{badPayloadAt: 3})
	g.finish(RunDefects+"/bad_length_crc/events.out.tfevents.1900000003.host", "bad length CRC", scalarsFile(6), defect{badLengthAt: 4})
	g.finish(RunDefects+"/empty/events.out.tfevents.1900000004.host", "0-byte file", newFile(false), defect{})
	hdr := newFile(false)
	hdr.version(1.9e9, "brain.Event:2")
	g.finish(RunDefects+"/header_only/events.out.tfevents.1900000005.host", "header-only file", hdr, defect{})
	nov := newFile(false)
	for s := int64(1); s <= 3; s++ {
		nov.simple("value", s, 1.9e9, float64(s))
	}
	g.finish(RunDefects+"/no_version/events.out.tfevents.1900000006.host", "no file_version record", nov, defect{})
}

// The hparams plugin's data (HParamsPluginData, tensorboard/plugins/hparams).

func hpExperiment(hparams, metrics []string) []byte {
	var e []byte
	e = protowire.AppendTag(e, 3, protowire.Fixed64Type) // time_created_secs
	e = protowire.AppendFixed64(e, math.Float64bits(1.65e9))
	for _, h := range hparams {
		info := appendString(nil, 1, h)
		e = appendBytes(e, 4, info)
	}
	for _, m := range metrics {
		name := appendString(nil, 2, m) // MetricName.tag
		e = appendBytes(e, 5, appendBytes(nil, 1, name))
	}
	return appendBytes(nil, 2, e)
}

func hpSessionStart(wall float64, hparams map[string]any) []byte {
	var s []byte
	keys := make([]string, 0, len(hparams))
	for k := range hparams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var v []byte
		switch x := hparams[k].(type) {
		case float64:
			v = protowire.AppendTag(v, 2, protowire.Fixed64Type)
			v = protowire.AppendFixed64(v, math.Float64bits(x))
		case string:
			v = appendString(v, 3, x)
		}
		entry := appendBytes(appendString(nil, 1, k), 2, v)
		s = appendBytes(s, 1, entry)
	}
	s = protowire.AppendTag(s, 5, protowire.Fixed64Type)
	s = protowire.AppendFixed64(s, math.Float64bits(wall))
	return appendBytes(nil, 3, s)
}

func hpSessionEnd(wall float64) []byte {
	s := protowire.AppendTag(nil, 1, protowire.VarintType)
	s = protowire.AppendVarint(s, 1) // STATUS_SUCCESS
	s = protowire.AppendTag(s, 2, protowire.Fixed64Type)
	s = protowire.AppendFixed64(s, math.Float64bits(wall))
	return appendBytes(nil, 4, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}
