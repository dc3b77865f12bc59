// Package hosting is the tbhost HTTP server: the native JSON API the board
// page uses (boards, uploads, series, exports), the board pages, and the
// operator's endpoints (/metrics, /healthz, /readyz). It wires the run
// engine (package engine) over a store (package store) and mounts the
// TensorBoard-compatible data API (package tensorboard); what the two APIs
// share is in package web, and the error vocabulary in package kind.
package hosting
