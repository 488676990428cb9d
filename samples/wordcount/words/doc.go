// Package words is the word counting that the wordcount sample's map and
// reduce modules and its framework share: one definition of a word, of the
// counts format that travels between the phases, and of which reducer owns
// a word, so that the distributed count and the local check agree.
package words
