// Package sdk is the root of what framework authors import: the scheduler
// client (sdk/scheduler), and the operator and module-store client
// (sdk/operator) that the mezzo CLI is built on. This package itself holds
// nothing; it documents the tree.
package sdk
