// Package hosting is the tbhost server: boards with permanent URLs, the
// Store that keeps them (a local directory, Google Cloud Storage, or memory
// for tests), streaming ingest of event files into per-run digests, the
// native JSON API the board page uses, a TensorBoard-compatible data API,
// exports, and a byte-bounded cache of decoded digests.
//
// # Store layout
//
// Keys are relative to the store root:
//
//	boards/<id>/board.json                      name, description, times, visibility, token hashes
//	boards/<id>/raw/<run>/<file>/<offset:020d>  raw event bytes, one object per accepted append
//	boards/<id>/digest/<runkey>.pb              hostingpb.Digest: sampler state + per-file offsets
//
// <run> and <file> are escaped to one path segment each (escapeSegment);
// <runkey> is a hash of the run name. The concatenation of a file's parts in
// offset order, up to the size its digest records, is the file exactly as
// uploaded. A raw part is written before the digest that counts it, so a
// crash between the two leaves bytes that the next append (from the offset
// the server reports) overwrites and re-ingests. Digests are replaced with
// a generation precondition, so two servers on one store never lose each
// other's writes.
package hosting
