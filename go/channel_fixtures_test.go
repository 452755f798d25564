package net

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// channel/local.json and channel/typed.json.

type localCase struct {
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
	Steps  []struct {
		Op      string          `json:"op"`
		ID      string          `json:"id"`
		Pattern string          `json:"pattern"`
		Channel string          `json:"channel"`
		Text    *string         `json:"text"`
		Hex     *string         `json:"hex"`
		Expect  json.RawMessage `json:"expect"`
		Error   string          `json:"error"`
	} `json:"steps"`
}

type channelConfigCase struct {
	Name       string          `json:"name"`
	Config     json.RawMessage `json:"config"`
	Normalized json.RawMessage `json:"normalized"`
	Error      string          `json:"error"`
}

func channelConfigUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.ChannelConfigs {
		got, err := NormalizeChannelConfig(string(c.Config))
		switch {
		case c.Error != "":
			err = expectKind(err, c.Error)
		case err == nil:
			var a, b any
			_ = json.Unmarshal([]byte(got), &a)
			_ = json.Unmarshal(c.Normalized, &b)
			if !reflect.DeepEqual(a, b) {
				err = fmt.Errorf("got %s, want %s", got, c.Normalized)
			}
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", c.Name, err)
		}
		out = append(out, err)
	}
	return out
}

type typedCase struct {
	Name    string         `json:"name"`
	Payload string         `json:"payload"`
	Value   map[string]any `json:"value"`
	Error   string         `json:"error"`
}

func localChannelUnits(doc fixtureFile) []error {
	var out []error
	for _, c := range doc.Local {
		err := runLocalCase(c)
		if err != nil {
			err = fmt.Errorf("%s: %w", c.Name, err)
		}
		out = append(out, err)
	}
	return out
}

func runLocalCase(c localCase) error {
	config := "{}"
	if len(c.Config) > 0 {
		config = string(c.Config)
	}
	node, err := NewFromJSON(config)
	if err != nil {
		return err
	}
	defer node.Shutdown()
	subs := map[string]*ChannelSubscription{}
	for i, step := range c.Steps {
		var got any
		var err error
		switch step.Op {
		case "subscribe":
			var sub *ChannelSubscription
			if sub, err = node.SubscribeChannel(step.Pattern); err == nil {
				subs[step.ID] = sub
			}
		case "publish":
			payload := []byte{}
			if step.Hex != nil {
				payload, _ = hex.DecodeString(*step.Hex)
			} else if step.Text != nil {
				payload = []byte(*step.Text)
			}
			var n int
			if n, err = node.Publish(step.Channel, payload); err == nil {
				got = map[string]any{"delivered": float64(n)}
			}
		case "next":
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			m, e := subs[step.ID].Next(ctx)
			cancel()
			switch {
			case errors.Is(e, context.DeadlineExceeded):
				got = nil
			case e != nil:
				err = e
			default:
				msg := map[string]any{"channel": m.Channel, "publisher": fmt.Sprint(m.Publisher)}
				var want map[string]any
				_ = json.Unmarshal(step.Expect, &want)
				if _, isHex := want["hex"]; isHex {
					msg["hex"] = hex.EncodeToString(m.Payload)
				} else {
					msg["text"] = string(m.Payload)
				}
				got = msg
			}
		case "close":
			err = subs[step.ID].Close()
		case "stats":
			var s LocalChannelStats
			if s, err = node.ChannelStats(); err == nil {
				data, _ := json.Marshal(s)
				_ = json.Unmarshal(data, &got)
			}
		case "shutdown":
			err = node.Shutdown()
		default:
			return fmt.Errorf("step %d: unknown op %s", i, step.Op)
		}
		if step.Error != "" {
			if e := expectKind(err, step.Error); e != nil {
				return fmt.Errorf("step %d (%s): %w", i, step.Op, e)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("step %d (%s): %w", i, step.Op, err)
		}
		if len(step.Expect) > 0 {
			var want any
			_ = json.Unmarshal(step.Expect, &want)
			if !reflect.DeepEqual(got, want) {
				return fmt.Errorf("step %d (%s): got %v, want %v", i, step.Op, got, want)
			}
		}
	}
	return nil
}

// fixtureReading is the fixture's Reading type, the Go way: pointers tell a
// missing field from a zero one, and Validate makes them required.
type fixtureReading struct {
	SensorID *string  `json:"sensor_id"`
	Celsius  *float64 `json:"celsius"`
	Note     *string  `json:"note,omitempty"`
}

func (r fixtureReading) Validate() error {
	if r.SensorID == nil {
		return errors.New("sensor_id is required")
	}
	if r.Celsius == nil {
		return errors.New("celsius is required")
	}
	return nil
}

func typedChannelUnits(doc fixtureFile) []error {
	node, err := New(nil)
	if err != nil {
		return []error{err}
	}
	defer node.Shutdown()
	channel, err := NewChannel[fixtureReading](node, "fixtures/typed")
	if err != nil {
		return []error{err}
	}
	sub, err := channel.Subscribe()
	if err != nil {
		return []error{err}
	}
	defer sub.Close()
	next := func() (fixtureReading, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return sub.Next(ctx)
	}
	var out []error
	for _, c := range doc.Typed {
		err := func() error {
			if _, err := node.Publish("fixtures/typed", []byte(c.Payload)); err != nil {
				return err
			}
			got, err := next()
			if c.Error != "" {
				return expectKind(err, c.Error)
			}
			if err != nil {
				return err
			}
			data, _ := json.Marshal(got)
			var plain map[string]any
			_ = json.Unmarshal(data, &plain)
			if !reflect.DeepEqual(plain, c.Value) {
				return fmt.Errorf("decoded %v, want %v", plain, c.Value)
			}
			if _, err := channel.Publish(got); err != nil {
				return err
			}
			again, err := next()
			if err != nil || !reflect.DeepEqual(again, got) {
				return fmt.Errorf("round trip: %v, %v", again, err)
			}
			return nil
		}()
		if err != nil {
			err = fmt.Errorf("%s: %w", c.Name, err)
		}
		out = append(out, err)
	}
	return out
}
