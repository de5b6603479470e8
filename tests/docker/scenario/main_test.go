package main

import (
	"strings"
	"testing"

	"example.test/greet"
)

func TestGreeting(t *testing.T) {
	if !strings.HasPrefix(greet.Hello(), "hello from v") {
		t.Fatalf("unexpected greeting %q", greet.Hello())
	}
}
