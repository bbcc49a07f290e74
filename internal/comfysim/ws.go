package comfysim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// socketBuffer is how many messages may wait for a slow client before the
// simulator drops its socket.
const socketBuffer = 1024

// socket is one WebSocket client.
type socket struct {
	id   string
	conn *websocket.Conn
	out  chan []byte
	done chan struct{}
}

// handleWS serves /ws?clientId=ID: the status message first, then the events
// of the prompts submitted with client_id ID, and status broadcasts.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("clientId")
	if id == "" {
		id = strings.ReplaceAll(uuid.NewString(), "-", "")
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("websocket handshake failed", "err", err)
		return
	}
	sock := &socket{id: id, conn: conn, out: make(chan []byte, socketBuffer), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.CloseNow()
		return
	}
	// Like ComfyUI, a second socket with the same id replaces the first in
	// the table, and whichever closes first removes the entry.
	s.sockets[id] = sock
	s.allSockets[sock] = struct{}{}
	remaining := s.queueRemainingLocked()
	s.mu.Unlock()

	s.log.Debug("websocket connected", "client_id", id)
	msg, _ := json.Marshal(object{{"type", "status"}, {"data", object{
		{"status", object{{"exec_info", object{{"queue_remaining", remaining}}}}}, {"sid", id}}}})
	s.deliver(sock, msg)

	go s.writeLoop(sock)
	// Reads are drained and ignored (browsers send feature flags); a read
	// error means the client went away.
	for {
		if _, _, err := conn.Read(r.Context()); err != nil {
			break
		}
	}
	s.dropSocket(sock)
}

func (s *Server) writeLoop(sock *socket) {
	for {
		select {
		case msg := <-sock.out:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := sock.conn.Write(ctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				s.dropSocket(sock)
				return
			}
		case <-sock.done:
			return
		}
	}
}

// dropSocket forgets and closes a socket; safe to call more than once.
func (s *Server) dropSocket(sock *socket) {
	s.mu.Lock()
	if _, ok := s.allSockets[sock]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.allSockets, sock)
	delete(s.sockets, sock.id)
	close(sock.done)
	s.mu.Unlock()
	sock.conn.CloseNow()
}

// deliver queues a message unless the silent fault is on; a socket whose
// buffer is full is dropped rather than stalling the queue.
func (s *Server) deliver(sock *socket, msg []byte) {
	s.mu.Lock()
	silent := s.faults.SilentWebSocket
	s.mu.Unlock()
	if silent {
		return
	}
	select {
	case sock.out <- msg:
	case <-sock.done:
	default:
		s.log.Warn("websocket client too slow, dropping it", "client_id", sock.id)
		go s.dropSocket(sock)
	}
}

// sendFor sends a per-prompt event to the socket of the prompt's client_id,
// or to every socket when the prompt has none (as ComfyUI does). Events of a
// job from before a restart are dropped.
func (s *Server) sendFor(j *job, typ string, data any) {
	msg, err := json.Marshal(object{{"type", typ}, {"data", data}})
	if err != nil {
		s.log.Error("encoding websocket event", "type", typ, "err", err)
		return
	}
	s.mu.Lock()
	if j.gen != s.gen {
		s.mu.Unlock()
		return
	}
	var targets []*socket
	if j.clientID == "" {
		for sock := range s.allSockets {
			targets = append(targets, sock)
		}
	} else if sock := s.sockets[j.clientID]; sock != nil {
		targets = append(targets, sock)
	}
	s.mu.Unlock()
	for _, sock := range targets {
		s.deliver(sock, msg)
	}
}

// broadcastStatus tells every socket the queue length, as ComfyUI does when
// its queue changes.
func (s *Server) broadcastStatus() {
	s.mu.Lock()
	remaining := s.queueRemainingLocked()
	targets := make([]*socket, 0, len(s.allSockets))
	for sock := range s.allSockets {
		targets = append(targets, sock)
	}
	s.mu.Unlock()
	msg, _ := json.Marshal(object{{"type", "status"}, {"data", object{
		{"status", object{{"exec_info", object{{"queue_remaining", remaining}}}}}}}})
	for _, sock := range targets {
		s.deliver(sock, msg)
	}
}

// closeSockets drops every client, as a server restart does.
func (s *Server) closeSockets() {
	s.mu.Lock()
	all := make([]*socket, 0, len(s.allSockets))
	for sock := range s.allSockets {
		all = append(all, sock)
	}
	s.mu.Unlock()
	for _, sock := range all {
		s.dropSocket(sock)
	}
}
