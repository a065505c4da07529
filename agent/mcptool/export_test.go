package mcptool

import "os"

// ServerProcess returns the pid of the current connection's stdio server
// and a function that returns its state once it is reaped (nil before).
func ServerProcess(c *Client) (int, func() *os.ProcessState) {
	c.mu.Lock()
	s := c.cur
	c.mu.Unlock()
	if s == nil || s.link.proc == nil {
		return 0, nil
	}
	p := s.link.proc
	return p.pid, func() *os.ProcessState {
		select {
		case <-p.exited:
			return p.cmd.ProcessState
		default:
			return nil
		}
	}
}
