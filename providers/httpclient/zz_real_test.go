package httpclient

import (
	"bytes"
	"os"
	"testing"
)

func BenchmarkZZRealPage(b *testing.B) {
	page, err := os.ReadFile(os.Getenv("ZZPAGE"))
	if err != nil {
		b.Skip()
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeObjectsFrom(bytes.NewReader(page), 200); err != nil {
			b.Fatal(err)
		}
	}
}
