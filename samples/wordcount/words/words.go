package words

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Count adds the words of r to counts. A word is a maximal run of letters
// and digits, lowercased, so "Don't" counts as "don" and "t", the way
// most word-count examples behave.
func Count(r io.Reader, counts map[string]int64) error {
	br := bufio.NewReader(r)
	var word strings.Builder
	flush := func() {
		if word.Len() > 0 {
			counts[strings.ToLower(word.String())]++
			word.Reset()
		}
	}
	for {
		c, _, err := br.ReadRune()
		if errors.Is(err, io.EOF) {
			flush()
			return nil
		}
		if err != nil {
			return fmt.Errorf("count words: %w", err)
		}
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			word.WriteRune(c)
		} else {
			flush()
		}
	}
}

// Partition returns which of n reducers owns word. Every map task must
// send a word to the same reducer, so this is a hash of the word alone.
func Partition(word string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(word))
	return int(h.Sum32() % uint32(n))
}

// WriteCounts writes counts as "word<TAB>count" lines sorted by word, the
// form in which map output reaches the reducers and reducer output
// reaches the framework.
func WriteCounts(w io.Writer, counts map[string]int64) error {
	bw := bufio.NewWriter(w)
	for _, word := range slices.Sorted(maps.Keys(counts)) {
		bw.WriteString(word)
		bw.WriteByte('\t')
		bw.WriteString(strconv.FormatInt(counts[word], 10))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write counts: %w", err)
	}
	return nil
}

// ReadCounts adds the "word<TAB>count" lines of r to counts. A line that
// is not in that form is an error naming its line number: it means a
// phase produced something other than counts, and summing around it would
// give a wrong answer silently.
func ReadCounts(r io.Reader, counts map[string]int64) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		word, num, ok := strings.Cut(line, "\t")
		c, err := strconv.ParseInt(num, 10, 64)
		if !ok || word == "" || err != nil || c < 0 {
			return fmt.Errorf("read counts: line %d is not \"word<TAB>count\": %q", n, line)
		}
		if counts[word] > math.MaxInt64-c {
			return fmt.Errorf("read counts: line %d: the count of %q overflows", n, word)
		}
		counts[word] += c
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read counts: %w", err)
	}
	return nil
}

// Chunks splits text into at most n pieces of about equal size, cutting
// only at ASCII whitespace so that no word, and no multi-byte character,
// is split between two map tasks.
func Chunks(text []byte, n int) [][]byte {
	if n < 1 {
		n = 1
	}
	var out [][]byte
	for len(text) > 0 {
		target := len(text) / n
		if n == 1 || target == 0 {
			target = len(text)
		}
		cut := target
		for cut < len(text) && !isSpace(text[cut]) {
			cut++
		}
		out = append(out, text[:cut])
		text = text[cut:]
		n--
	}
	return out
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\f' || b == '\v'
}
