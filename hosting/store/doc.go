// Package store keeps tbhost's objects: a Store interface (whole objects
// under slash-separated keys, generations for conditional writes) and its
// implementations: a local directory (Dir, the default), Google Cloud
// Storage (GCS), and memory (Mem, for tests). Package storetest is the
// conformance suite all of them pass.
package store
