package net

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestCrossProcessChannelSubscriber is the Go side of the cross-language,
// cross-process channel test (tests/cross_proc/channels.py starts it as a
// process of its own). Without XPROC_ADDR it is skipped. It presents another
// subscriber's grant (which must be refused), then its own, and prints
// "RESULT go refused-wrong-token <count> in order" once every message came
// in order; it stays connected until its standard input closes.
func TestCrossProcessChannelSubscriber(t *testing.T) {
	if os.Getenv("XPROC_ADDR") == "" {
		t.Skip("run by tests/cross_proc/channels.py")
	}
	if err := crossProcessSubscriber(); err != nil {
		fmt.Printf("RESULT go failed: %v\n", err)
		t.Fatal(err)
	}
}

func crossProcessSubscriber() error {
	hexVar := func(name string) ([]byte, error) {
		b, err := hex.DecodeString(os.Getenv(name))
		if err != nil || len(b) == 0 {
			return nil, fmt.Errorf("%s: not hex", name)
		}
		return b, nil
	}
	netKey, err := hexVar("XPROC_NETWORK_KEY")
	if err != nil {
		return err
	}
	seed, err := hexVar("XPROC_SEED")
	if err != nil {
		return err
	}
	pub, err := hexVar("XPROC_PUBLIC_KEY")
	if err != nil {
		return err
	}
	own, err := hexVar("XPROC_TOKEN")
	if err != nil {
		return err
	}
	wrong, err := hexVar("XPROC_WRONG_TOKEN")
	if err != nil {
		return err
	}
	publisher, err := strconv.ParseUint(os.Getenv("XPROC_PUBLISHER"), 10, 64)
	if err != nil {
		return err
	}
	count, err := strconv.Atoi(os.Getenv("XPROC_COUNT"))
	if err != nil {
		return err
	}
	channel := os.Getenv("XPROC_CHANNEL")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mesh, err := OpenMesh(MeshConfig{NetworkKey: netKey, Seed: seed, Bind: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer mesh.Close()
	if _, err := mesh.Connect(ctx, os.Getenv("XPROC_ADDR"), pub); err != nil {
		return err
	}
	if _, err := mesh.Subscribe(ctx, publisher, channel, Token(wrong)); !errors.Is(err, ErrChannelUnauthorized) {
		return fmt.Errorf("another's grant: %v (wanted channel:unauthorized)", err)
	}
	sub, err := mesh.Subscribe(ctx, publisher, channel, Token(own))
	if err != nil {
		return err
	}
	defer sub.Close()
	for i := 0; i < count; i++ {
		m, err := sub.Next(ctx)
		if err != nil {
			return fmt.Errorf("at message %d: %w", i, err)
		}
		if want := fmt.Sprintf("reading %d: 21.5 °C ✓", i); string(m.Payload) != want {
			return fmt.Errorf("message %d was %q", i, m.Payload)
		}
	}
	fmt.Printf("RESULT go refused-wrong-token %d in order\n", count)
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	return nil
}
