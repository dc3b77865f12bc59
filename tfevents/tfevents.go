// Package tfevents reads and writes TensorBoard event files.
//
// It frames TFRecords (verifying both masked CRC32Cs), decodes each
// tensorflow.Event with a hand-written protowire decoder that allocates
// nothing per scalar event in steady state, normalises every summary value
// to its TF2 form (TF1 simple_value, histo, image and audio are converted),
// walks log directories into runs, and builds the `tbhost inspect` report.
// A Writer produces event files for tests and tools.
//
// The package knows nothing of HTTP, storage or sampling.
package tfevents

import "errors"

// DefaultMaxRecord is the record length cap used when Options.MaxRecord is 0.
const DefaultMaxRecord = 256 << 20

// Options configure a Reader or a Scanner.
type Options struct {
	// MaxRecord caps a record's length; 0 means DefaultMaxRecord.
	MaxRecord uint64
	// Plugins maps tag -> plugin already known (from earlier chunks of the
	// same file). A Scanner adds the plugins it learns to it (creating a map
	// when nil). It must not be used concurrently with the Scanner.
	Plugins map[string]string
	// PipelineAfter is how many bytes a Scanner reads in one go before it
	// starts its pipeline (framing and CRCs on a goroutine of their own,
	// decoding and the caller's work on the caller's): 0 means
	// DefaultPipelineAfter, < 0 never (all on the caller's goroutine). On one core (GOMAXPROCS 1) a Scanner
	// never pipelines. A Reader ignores it.
	PipelineAfter int64
}

// DefaultPipelineAfter is the PipelineAfter used when Options.PipelineAfter is 0.
const DefaultPipelineAfter = 1 << 20

func (o Options) maxRecord() uint64 {
	if o.MaxRecord == 0 {
		return DefaultMaxRecord
	}
	return o.MaxRecord
}

// Sentinel errors. Returned errors wrap them with offsets and context; test
// with errors.Is.
var (
	// ErrCorrupt: a length CRC failed, so the rest of the input cannot be
	// framed. Reading stops.
	ErrCorrupt = errors.New("tfevents: corrupt record framing")
	// ErrBadRecord: a record's payload CRC failed or its Event could not be
	// decoded. The record is skipped; reading may go on.
	ErrBadRecord = errors.New("tfevents: bad record")
	// ErrTooLarge: a record's length exceeds Options.MaxRecord. Reading stops.
	ErrTooLarge = errors.New("tfevents: record too large")
)

// Kind is the normalised kind of a Value.
type Kind uint8

// The kinds of Value.
const (
	KindScalar       Kind = iota + 1 // Value.Scalar
	KindHistogram                    // Value.Buckets: TF2 rows [left, right, count] (TF1 histo converted, empty end buckets dropped)
	KindImage                        // Value.Strings: [width, height, encoded image...] (TF1 image converted)
	KindAudio                        // Value.Strings: flattened rows [audio, label, audio, label, ...]; Value.ContentType when known
	KindText                         // Value.Strings: every element; Value.Shape
	KindTensor                       // any other tensor: Value.Floats (numeric dtypes) or Value.Strings (STRING), Value.Shape, Value.DType
	KindGraph                        // Event.graph_def: Tag "__run_graph__", Plugin "graphs", Value.Blob
	KindRunMetadata                  // Event.tagged_run_metadata: Tag from it, Plugin "graph_tagged_run_metadata", Value.Blob
	KindSessionStart                 // SessionLog START at Value.Step (Tag "")
)

var kindNames = [...]string{"", "scalar", "histogram", "image", "audio", "text", "tensor", "graph", "run_metadata", "session_start"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + itoa(int64(k)) + ")"
}

// Well-known plugin names and tags.
const (
	PluginScalars           = "scalars"
	PluginHistograms        = "histograms"
	PluginImages            = "images"
	PluginAudio             = "audio"
	PluginText              = "text"
	PluginHParams           = "hparams"
	PluginPRCurves          = "pr_curves"
	PluginGraphs            = "graphs"
	PluginTaggedRunMetadata = "graph_tagged_run_metadata"
	// GraphTag is the tag given to Event.graph_def.
	GraphTag = "__run_graph__"
)

// TensorFlow DataType values used in TensorProto.dtype.
const (
	DTFloat    = 1
	DTDouble   = 2
	DTInt32    = 3
	DTUint8    = 4
	DTInt16    = 5
	DTInt8     = 6
	DTString   = 7
	DTInt64    = 9
	DTBool     = 10
	DTBfloat16 = 14
	DTHalf     = 19
	DTUint32   = 22
	DTUint64   = 23
)

// Value is one normalised summary value (or graph / run metadata / session
// start) with its event's step and wall time.
//
// Its slices alias internal buffers (and the record being read): they are
// valid until the next Scan. Copy what you keep.
type Value struct {
	// Tag is the value's tag. Plugin comes from this value's metadata, else
	// the remembered plugin for the tag (Options.Plugins / earlier values in
	// this scan), else from the oneof kind (simple_value -> scalars, histo ->
	// histograms, image -> images, audio -> audio), else "".
	Tag, Plugin string
	Step        int64
	WallTime    float64
	Kind        Kind
	Scalar      float64
	Buckets     [][3]float64
	Strings     [][]byte
	Floats      []float64
	Shape       []int64
	DType       int32
	Blob        []byte
	ContentType string
	// Metadata is the raw serialized SummaryMetadata if this value carried
	// it (hparams content lives here), else nil.
	Metadata []byte
	// DisplayName and Description come from the metadata when present.
	DisplayName, Description string
}

// FileStats reports what a Scanner met so far.
type FileStats struct {
	Records    int      // records with valid framing and CRC that decoded as an Event
	BadRecords int      // payload CRC mismatches + undecodable Events (skipped)
	Truncated  bool     // the input ended inside a record
	Corrupt    bool     // a length CRC failed: the rest cannot be framed
	Offset     int64    // just past the last whole record: where to resume
	Warnings   []string // human sentences, at most maxWarnings (+1 summary line)
}
