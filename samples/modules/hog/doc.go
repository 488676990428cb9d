// Command hog is a memory hog task module: it allocates memory a mebibyte
// at a time, touching every page, up to the given number of mebibytes
// (until it is stopped without one), printing its total as it goes, so
// that memory limits (mem, limits.memory_pages) can be watched at work.
//
//	mezzo run --mem 64 ./samples/modules/hog            # ends TASK_FAILED, REASON_CONTAINER_LIMITATION_MEMORY
//	mezzo run --mem 64 ./samples/modules/hog -- 16      # fits: prints 16 and exits 0
package main
