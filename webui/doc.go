// Package webui will hold Mezzo's web console: server-rendered pages,
// hand-written JavaScript and CSS embedded with embed, kept live through
// Server-Sent Events. It reads cluster state through a small interface that
// the master satisfies and never imports package master; cmd/mezzo wires
// the two together. The console is the subject of its own issue; until it
// lands, the package holds no code and the master serves only its APIs.
package webui
