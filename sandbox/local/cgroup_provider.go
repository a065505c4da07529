//go:build linux

package local

import "github.com/ttadev/primitives/sandbox"

// sandboxOwnTasks is what a sandbox's pids limit allows beyond
// WithMaxProcesses: its own processes (the init, and in a stateless
// sandbox the zygote and the children it forks ahead) and the threads
// the init has while it starts.
const sandboxOwnTasks = 16

// maxTCPMemory bounds the TCP buffers of a sandbox (cgroup v1
// memory.kmem.tcp.limit_in_bytes, at most its memory budget): TCP memory
// is also counted against the host's system-wide TCP limit (tcp_mem), so
// a sandbox's loopback connections may take no more of it than this.
const maxTCPMemory = 32 << 20

// addCgroups finds the cgroups the provider can use and records them in
// iso: the version and controllers in Active ("cgroup_v1(memory,pids,cpu)"),
// or why none in Missing["cgroup"].
func addCgroups(iso *Isolation) *cgroups {
	cg, why := detectCgroups()
	if cg == nil {
		if iso.Missing == nil {
			iso.Missing = map[string]string{}
		}
		iso.Missing["cgroup"] = why
		return nil
	}
	iso.Active = append(iso.Active, cg.fs.name())
	return cg
}

// cgroupMemory reports whether the kernel bounds each sandbox's memory
// (a memory cgroup); else the memory watch does.
func (p *Provider) cgroupMemory() bool {
	return p.cgroups != nil && p.cgroups.fs.has("memory") && p.cfg.memoryBudget > 0
}

// cgroupLimits are the limits of each sandbox's cgroup.
func (p *Provider) cgroupLimits() cgroupLimits {
	return cgroupLimits{
		memory:   p.cfg.memoryBudget,
		tcp:      min(p.cfg.memoryBudget, maxTCPMemory),
		pids:     p.cfg.maxProcesses + sandboxOwnTasks,
		cpuCores: p.cfg.cpuCores,
	}
}

// newCgroup creates the cgroup of the sandbox id, or returns nil when the
// provider uses none.
func (p *Provider) newCgroup(id string) (*sandboxCgroup, error) {
	if p.cgroups == nil {
		return nil, nil
	}
	return p.cgroups.newSandbox(id, p.cgroupLimits())
}

// memoryLimitError returns the *sandbox.LimitError of a sandbox whose
// cgroup's memory limit was hit (the kernel killed one of its processes
// for it), and marks the sandbox dead; nil otherwise. Any such kill ends
// the sandbox: its budget is spent, even if the process killed was a
// subprocess and the worker lives on.
func (s *Sandbox) memoryLimitError() *sandbox.LimitError {
	hit := s.cg.memoryLimitHit(s.p.cfg.memoryBudget)
	if hit == nil {
		return nil
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.limitErr == nil {
		s.limitErr = &sandbox.LimitError{SandboxID: s.id, Resource: "memory", Limit: s.p.cfg.memoryBudget, Used: hit.peak}
		if s.dead == "" {
			s.dead = s.limitErr.Error()
		}
		s.p.cfg.logger.Warn("local sandbox: memory budget exceeded, sandbox stopped", "sandbox_id", s.id,
			"peak_bytes", hit.peak, "budget_bytes", s.p.cfg.memoryBudget, "oom_kills", hit.kills)
	}
	return s.limitErr
}
