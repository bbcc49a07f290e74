package comfyui

import (
	"context"
	"encoding/json"
	"net/url"
	"time"

	"github.com/coder/websocket"
)

// Reconnect delays of the event socket.
const (
	reconnectMin = 250 * time.Millisecond
	reconnectMax = 30 * time.Second
)

// event is one WebSocket message about a prompt.
type event struct {
	typ  string
	data eventData
}

type eventData struct {
	PromptID string          `json:"prompt_id"`
	Node     json.RawMessage `json:"node"`
	Value    int             `json:"value"`
	Max      int             `json:"max"`
}

// node returns the "node" member; ok is false when it is null or absent.
func (d eventData) node() (string, bool) {
	var s string
	if json.Unmarshal(d.Node, &s) != nil {
		return "", false
	}
	return s, true
}

// wsURL is the backend's /ws address for this pool's client id.
func (b *backend) wsURL() string {
	u := *b.client.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/ws"
	u.RawQuery = url.Values{"clientId": {b.clientID}}.Encode()
	return u.String()
}

// listen keeps one event socket open to the backend, reconnecting with
// backoff. Events are hints: a silent or broken socket only slows down
// progress reports, since each job also polls /history.
func (b *backend) listen(ctx context.Context) {
	delay := reconnectMin
	for ctx.Err() == nil {
		connected, err := b.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			b.log.Info("comfyui event socket closed, reconnecting", "err", err)
			delay = reconnectMin
		} else {
			b.log.Debug("comfyui event socket connect failed", "err", err, "retry_in", delay)
		}
		t := time.NewTimer(jitter(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, reconnectMax)
	}
}

func (b *backend) listenOnce(ctx context.Context) (connected bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, b.pool.opts.RequestTimeout)
	conn, _, err := websocket.Dial(dialCtx, b.wsURL(), &websocket.DialOptions{HTTPClient: b.pool.hc})
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20) // preview frames and big "executed" outputs
	b.setConnected(true)
	defer b.setConnected(false)
	b.log.Debug("comfyui event socket connected", "client_id", b.clientID)
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return true, err
		}
		if typ == websocket.MessageText { // binary frames are previews
			b.dispatch(data)
		}
	}
}

func (b *backend) setConnected(v bool) {
	b.mu.Lock()
	b.wsConnected = v
	b.mu.Unlock()
}

// dispatch hands a prompt's event to its job and keeps the queue depth of
// status messages.
func (b *backend) dispatch(raw []byte) {
	var msg struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &msg) != nil {
		return
	}
	if msg.Type == "status" {
		var st struct {
			Status struct {
				ExecInfo struct {
					QueueRemaining *int `json:"queue_remaining"`
				} `json:"exec_info"`
			} `json:"status"`
		}
		if json.Unmarshal(msg.Data, &st) == nil && st.Status.ExecInfo.QueueRemaining != nil {
			b.mu.Lock()
			b.queueRemaining = *st.Status.ExecInfo.QueueRemaining
			b.mu.Unlock()
		}
		return
	}
	var d eventData
	if json.Unmarshal(msg.Data, &d) != nil || d.PromptID == "" {
		return
	}
	b.mu.Lock()
	j := b.jobs[d.PromptID]
	b.mu.Unlock()
	if j != nil {
		j.hint(event{typ: msg.Type, data: d})
	}
}
