package onelogintest

import "time"

// change applies fn to user id and stamps updated_at; the change reaches
// updated_since filters after Lag. It reports whether the user exists.
func (s *Server) change(id int64, fn func(*User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index(id)
	if !ok {
		return false
	}
	u := *s.user(idx)
	u.Custom = cloneCustom(u.Custom)
	fn(&u)
	now := s.clock.Now()
	u.Updated = now.Truncate(time.Millisecond)
	u.visible = now.Add(s.opts.Lag)
	s.changed[idx] = &u
	return true
}

func cloneCustom(m map[string]*string) map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SetStatus sets a user's status code.
func (s *Server) SetStatus(id int64, status int) bool {
	return s.change(id, func(u *User) { u.Status = status })
}

// SetTitle changes a user's job title.
func (s *Server) SetTitle(id int64, title string) bool {
	return s.change(id, func(u *User) { u.Title = title })
}

// SetPhone changes a user's phone number.
func (s *Server) SetPhone(id int64, phone string) bool {
	return s.change(id, func(u *User) { u.Phone = phone })
}

// SetManager makes manager (0: none) the user's manager.
func (s *Server) SetManager(id, manager int64) bool {
	return s.change(id, func(u *User) { u.ManagerID = manager })
}

// Delete removes a user for good, as DELETE /api/2/users/{id} does.
func (s *Server) Delete(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, ok := s.index(id)
	if ok {
		s.recordEvent(EventUserDeleted, s.user(idx))
		s.deleted[idx] = true
	}
	return ok
}

// Create adds an active user and returns its id.
func (s *Server) Create(first, last string) int64 {
	s.mu.Lock()
	idx := s.n
	s.n++
	u := generate(s.opts.Seed, idx, s.opts.Users, s.epoch, s.chart)
	s.mu.Unlock()
	u.First, u.Last, u.Status, u.State = first, last, 1, 1
	now := s.clock.Now().Truncate(time.Millisecond)
	u.Created, u.Updated, u.visible = now, now, now.Add(s.opts.Lag)
	s.mu.Lock()
	s.changed[idx] = u
	s.mu.Unlock()
	return u.ID
}

// Requests returns what clients sent, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// MaxCallsPerHour is the most calls the account took in any hourly window
// of either count, v1 or v2 (one count with SharedBudget).
func (s *Server) MaxCallsPerHour() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.v1.maxUsed, s.v2.maxUsed)
}

// Answers is how many answers had the given status.
func (s *Server) Answers(status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statuses[status]
}
