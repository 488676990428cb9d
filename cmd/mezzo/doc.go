// Command mezzo is Mezzo's one binary:
//
//	mezzo dev                 a master and an agent in one process
//	mezzo master              a master
//	mezzo agent --master H:P  an agent
//	mezzo run MODULE -- ARGS  run one task and stream its output
//
// Every flag can also be set from a MEZZO_* environment variable:
// --work-dir from MEZZO_WORK_DIR, and so on. Flags and the environment are
// read only here; the daemons get typed Config values.
package main
