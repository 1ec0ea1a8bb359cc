// SPDX-License-Identifier: GPL-2.0
/*
 * Device migrations rebuilt from the BPF side's migration records (include/vfioscope/tracer/
 * migration.h). The state machine is the uAPI's (enum vfio_device_mig_state); the words
 * "source" and "destination" and the downtime rule are QEMU's view of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfioscope/tracer/migration.h"

/* enum vfio_device_mig_state (vfio-uapi.md §3.1) */
enum {
	ST_ERROR = 0,
	ST_STOP = 1,
	ST_RUNNING = 2,
	ST_STOP_COPY = 3,
	ST_RESUMING = 4,
	ST_RUNNING_P2P = 5,
	ST_PRE_COPY = 6,
	ST_PRE_COPY_P2P = 7,
};

struct migrations {
	struct migration **list;
	size_t n, cap;
	struct vfs_mig_event *events;
	size_t nevents, events_cap;
	uint64_t origin_ns; /* the earliest entry of any record (0: none yet) */
};

const char *migration_state_name(uint32_t state)
{
	static const char *const names[] = { "ERROR",	 "STOP",	"RUNNING",  "STOP_COPY",
					     "RESUMING", "RUNNING_P2P", "PRE_COPY", "PRE_COPY_P2P" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

const char *migration_role_name(enum migration_role r)
{
	return r == MIGRATION_SOURCE ? "source" : r == MIGRATION_DESTINATION ? "destination" : "?";
}

const char *migration_outcome_name(enum migration_outcome o)
{
	static const char *const names[] = { "under way", "completed", "cancelled", "failed" };

	return o <= MIGRATION_FAILED ? names[o] : "?";
}

int migrations__new(struct migrations **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void migrations__free(struct migrations *ms)
{
	if (!ms)
		return;
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->list[i]->syncs);
		free(ms->list[i]);
	}
	free(ms->list);
	free(ms->events);
	free(ms);
}

size_t migrations__count(const struct migrations *ms)
{
	return ms->n;
}

const struct migration *migrations__get(const struct migrations *ms, size_t i)
{
	return i < ms->n ? ms->list[i] : NULL;
}

size_t migrations__finished(const struct migrations *ms)
{
	size_t n = 0;

	for (size_t i = 0; i < ms->n; i++)
		n += ms->list[i]->outcome != MIGRATION_UNDER_WAY;
	return n;
}

const struct vfs_mig_event *migrations__events(const struct migrations *ms, size_t *n)
{
	*n = ms->nevents;
	return ms->events;
}

/* The time every view counts from: the earliest entry of a call of any record, not the
 * first record's. Records arrive in the order the calls ended, so a long call (the source's
 * DMA-logging START) recorded after a short one (the destination's RESUMING) began before it:
 * counted from the first record, the source started 1.3 ms "before zero" and its start wrapped
 * around as an unsigned number (a CI run of migrations_qemu). */
uint64_t migrations__origin_ns(const struct migrations *ms)
{
	return ms->origin_ns;
}

/* The latest migration of this device file, finished or not. */
static struct migration *latest_of(struct migrations *ms, uint64_t device)
{
	for (size_t i = ms->n; i-- > 0;)
		if (ms->list[i]->device_file == device)
			return ms->list[i];
	return NULL;
}

/* Records that begin a migration when the device has none under way. */
static bool begins_migration(const struct vfs_mig_event *ev)
{
	if (ev->type == VFS_MIG_LOG_START)
		return ev->ret == 0;
	if (ev->type != VFS_MIG_SET_STATE || ev->ret != 0)
		return false;
	return ev->state == ST_PRE_COPY || ev->state == ST_PRE_COPY_P2P ||
	       ev->state == ST_STOP_COPY || ev->state == ST_RESUMING;
}

static struct migration *migration_new(struct migrations *ms, const struct vfs_mig_event *ev)
{
	struct migration *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->syncs = calloc(MIGRATION_MAX_SYNCS, sizeof(*m->syncs));
	if (!m->syncs ||
	    (ms->n == ms->cap &&
	     !(ms->list = realloc(ms->list, (ms->cap = ms->cap * 2 + 8) * sizeof(*ms->list))))) {
		free(m->syncs);
		free(m);
		return NULL;
	}
	m->device_file = ev->device;
	memcpy(m->device, ev->device_name, sizeof(m->device));
	m->device[sizeof(m->device) - 1] = '\0';
	memcpy(m->comm, ev->comm, sizeof(m->comm));
	m->comm[sizeof(m->comm) - 1] = '\0';
	m->pid = ev->pid;
	m->start_ns = ev->ts_ns - ev->latency_ns;
	ms->list[ms->n++] = m;
	return m;
}

static bool state_moves_data(uint32_t s)
{
	return s == ST_STOP_COPY || s == ST_RESUMING || s == ST_PRE_COPY || s == ST_PRE_COPY_P2P;
}

static bool running_state(uint32_t s)
{
	return s == ST_RUNNING || s == ST_PRE_COPY || s == VFS_MIG_STATE_UNKNOWN;
}

static void finish(struct migration *m, enum migration_outcome o, uint64_t ts)
{
	if (m->outcome != MIGRATION_UNDER_WAY)
		return;
	m->outcome = o;
	m->end_ns = ts;
}

static struct migration_phase *current_phase(struct migration *m)
{
	for (unsigned int i = m->nphases; i-- > 0;)
		if (m->phases[i].ret == 0)
			return &m->phases[i];
	return NULL;
}

/*
 * A SET carries the position of the device's data fd when it was asked: the bytes moved
 * through it so far. What the calls seen do not account for was moved in calls no hook saw
 * (the file-handler ways in attach the data-fd hooks only after a device's first migration
 * call, and serve attaches none): those bytes count in the phase that ends, which is where
 * they were moved, and apart as unseen.
 */
static void account_position(struct migration *m, struct migration_phase *cur,
			     const struct vfs_mig_event *ev)
{
	uint64_t unseen;

	if (!(ev->flags & VFS_MIG_F_DATA_POS))
		return;
	m->pos_checks++;
	if (ev->c < m->file_bytes) {
		m->pos_behind++;
		return;
	}
	unseen = ev->c - m->file_bytes;
	if (!unseen)
		return;
	m->file_bytes = ev->c;
	m->bytes += unseen;
	m->bytes_unseen += unseen;
	if (!m->role && cur)
		m->role = cur->state == ST_RESUMING ? MIGRATION_DESTINATION : MIGRATION_SOURCE;
	if (!cur)
		return;
	cur->bytes += unseen;
	cur->bytes_unseen += unseen;
}

static void on_set_state(struct migration *m, const struct vfs_mig_event *ev)
{
	struct migration_phase *cur = current_phase(m), *p;
	uint64_t entry = ev->ts_ns - ev->latency_ns;

	account_position(m, cur, ev);
	/* a new data fd starts at position 0; a state without data drops the old one */
	if (ev->ret == 0 && (ev->data_file || !state_moves_data(ev->state)))
		m->file_bytes = 0;

	if (m->nphases == MIGRATION_MAX_TRANSITIONS) {
		m->transitions_lost++;
		return;
	}
	p = &m->phases[m->nphases++];
	p->start_ns = ev->ts_ns;
	p->set_latency_ns = ev->latency_ns;
	p->ret = ev->ret;
	p->state = ev->state;
	p->prev_state = ev->prev_state;
	p->data_fd = ev->data_fd;
	if (ev->ret) {
		finish(m, MIGRATION_FAILED, ev->ts_ns);
		return;
	}
	if (cur)
		cur->end_ns = ev->ts_ns;
	switch (ev->state) {
	case ST_PRE_COPY:
	case ST_PRE_COPY_P2P:
	case ST_STOP_COPY:
		m->role = MIGRATION_SOURCE;
		break;
	case ST_RESUMING:
		m->role = MIGRATION_DESTINATION;
		if (!m->resuming_ns)
			m->resuming_ns = entry;
		break;
	}
	/* the source's pause begins when the device leaves RUNNING or PRE_COPY */
	if (m->role == MIGRATION_SOURCE && !m->downtime_start_ns && running_state(ev->prev_state) &&
	    !running_state(ev->state) && ev->state != ST_PRE_COPY_P2P)
		m->downtime_start_ns = entry;
	if (ev->state == ST_STOP_COPY && !m->downtime_start_ns)
		m->downtime_start_ns = entry; /* the VM was paused before the migration began */
	if (ev->state == ST_ERROR)
		finish(m, MIGRATION_FAILED, ev->ts_ns);
	else if (m->role == MIGRATION_SOURCE && ev->state == ST_STOP && cur &&
		 cur->state == ST_STOP_COPY)
		finish(m, MIGRATION_COMPLETED, ev->ts_ns);
	else if (m->role == MIGRATION_SOURCE && ev->state == ST_RUNNING)
		finish(m, MIGRATION_CANCELLED, ev->ts_ns);
	else if (m->role == MIGRATION_DESTINATION && ev->state == ST_RUNNING) {
		m->running_ns = ev->ts_ns;
		finish(m, MIGRATION_COMPLETED, ev->ts_ns);
	}
}

/* The phase a data-fd call belongs to: the latest one in the state the device was in. */
static struct migration_phase *phase_in(struct migration *m, uint32_t state)
{
	for (unsigned int i = m->nphases; i-- > 0;)
		if (m->phases[i].ret == 0 && m->phases[i].state == state)
			return &m->phases[i];
	return current_phase(m);
}

static void on_data(struct migration *m, const struct vfs_mig_event *ev)
{
	struct migration_phase *p = phase_in(m, ev->state);

	m->data_calls++;
	m->data_ns += ev->latency_ns;
	if (ev->ret < 0) {
		m->data_errors++;
		return;
	}
	if (!m->role)
		m->role = ev->type == VFS_MIG_READ ? MIGRATION_SOURCE : MIGRATION_DESTINATION;
	m->bytes += ev->ret;
	m->file_bytes += ev->ret;
	if (ev->ret > 0 && ev->state == ST_STOP_COPY && ev->type == VFS_MIG_READ)
		m->last_stop_copy_byte_ns = ev->ts_ns;
	if (!p)
		return;
	p->calls++;
	p->call_ns += ev->latency_ns;
	p->bytes += ev->ret;
	if (ev->ret > 0) {
		if (!p->first_data_ns)
			p->first_data_ns = ev->ts_ns;
		p->last_data_ns = ev->ts_ns;
	}
}

static void on_record(struct migration *m, const struct vfs_mig_event *ev)
{
	struct migration_sync *s;

	switch (ev->type) {
	case VFS_MIG_SET_STATE:
		on_set_state(m, ev);
		break;
	case VFS_MIG_READ:
	case VFS_MIG_WRITE:
		on_data(m, ev);
		break;
	case VFS_MIG_PRECOPY_INFO:
		if (ev->ret == 0 && m->nprecopy < MIGRATION_MAX_PRECOPY)
			m->precopy[m->nprecopy++] = (struct migration_precopy){
				.ts_ns = ev->ts_ns,
				.initial_bytes = ev->a,
				.dirty_bytes = ev->b,
				.bytes_before = m->bytes,
			};
		break;
	case VFS_MIG_DATA_SIZE:
		if (ev->ret == 0) {
			m->data_size = ev->a;
			m->data_size_ns = ev->ts_ns;
			m->data_size_queries++;
		}
		break;
	case VFS_MIG_LOG_START:
		if (ev->ret == 0) {
			m->log_start_ns = ev->ts_ns;
			m->log_page_size = ev->a;
		}
		break;
	case VFS_MIG_LOG_STOP:
		if (ev->ret == 0)
			m->log_stop_ns = ev->ts_ns;
		break;
	case VFS_MIG_LOG_REPORT:
		if (m->nsyncs == MIGRATION_MAX_SYNCS)
			break;
		s = &m->syncs[m->nsyncs++];
		s->ts_ns = ev->ts_ns;
		s->latency_ns = ev->latency_ns;
		s->ret = ev->ret;
		s->page_size = ev->b;
		s->length = ev->c;
		s->pages_known = (ev->flags & VFS_MIG_F_KERN_DIRTY) && ev->b;
		s->pages = s->pages_known ? ev->a / ev->b : 0;
		break;
	}
}

int migrations__add(struct migrations *ms, const struct vfs_mig_event *ev)
{
	struct migration *m = latest_of(ms, ev->device);

	if (ms->nevents == ms->events_cap) {
		size_t cap = ms->events_cap * 2 + 256;
		struct vfs_mig_event *e = realloc(ms->events, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		ms->events = e;
		ms->events_cap = cap;
	}
	ms->events[ms->nevents++] = *ev;
	{
		uint64_t entry = ev->ts_ns > ev->latency_ns ? ev->ts_ns - ev->latency_ns : 0;

		if (ms->nevents == 1 || entry < ms->origin_ns)
			ms->origin_ns = entry;
	}
	/* a finished migration still takes its device's late records (QEMU's source stops DMA
	 * logging after STOP) until a new one begins */
	if ((!m || m->outcome != MIGRATION_UNDER_WAY) && begins_migration(ev)) {
		m = migration_new(ms, ev);
		if (!m)
			return -ENOMEM;
	}
	if (!m)
		return 0; /* a state read or a sync outside any migration */
	/* but no state change: the VMM stopping the device at its exit, maybe hours later, is no
	 * phase of the migration that ended (it would stretch its last phase until then) */
	if (m->outcome != MIGRATION_UNDER_WAY && ev->type == VFS_MIG_SET_STATE)
		return 0;
	if (!m->device[0] && ev->device_name[0])
		memcpy(m->device, ev->device_name, sizeof(m->device) - 1);
	on_record(m, ev);
	return 0;
}

/* Growth of the device's pending state during precopy: what was pending at the first answer,
 * plus what became pending since, minus what was read, over the time between. */
static void precopy_growth(const struct migration *m, struct migration_summary *s)
{
	const struct migration_precopy *a, *b;
	double dt, pend_a, pend_b, moved;

	if (m->nprecopy < 2)
		return;
	a = &m->precopy[0];
	b = &m->precopy[m->nprecopy - 1];
	dt = (double)(b->ts_ns - a->ts_ns) / 1e9;
	if (dt <= 0)
		return;
	pend_a = (double)a->initial_bytes + (double)a->dirty_bytes;
	pend_b = (double)b->initial_bytes + (double)b->dirty_bytes;
	moved = (double)(b->bytes_before - a->bytes_before);
	s->growth_known = true;
	s->state_growth_bytes_per_s = (pend_b + moved - pend_a) / dt;
	if (s->state_growth_bytes_per_s < 0)
		s->state_growth_bytes_per_s = 0;
}

static uint64_t stop_copy_bytes_seen(const struct migration *m, bool *seen)
{
	uint64_t b = 0;

	*seen = false;
	for (unsigned int i = 0; i < m->nphases; i++)
		if (m->phases[i].ret == 0 && m->phases[i].state == ST_STOP_COPY) {
			b += m->phases[i].bytes;
			*seen = true;
		}
	return b;
}

void migration__summary(const struct migration *m, struct migration_summary *s)
{
	uint64_t last = m->end_ns, first_sync = 0, last_sync = 0;
	bool seen;

	memset(s, 0, sizeof(*s));
	s->converges = -1;
	for (unsigned int i = 0; i < m->nphases; i++)
		if (m->phases[i].start_ns > last)
			last = m->phases[i].start_ns;
	s->duration_ns = last > m->start_ns ? last - m->start_ns : 0;
	if (m->role == MIGRATION_SOURCE && m->downtime_start_ns) {
		uint64_t end = m->last_stop_copy_byte_ns;

		/* no data read: the pause lasted until STOP_COPY was left */
		for (unsigned int i = 0; !end && i < m->nphases; i++)
			if (m->phases[i].ret == 0 && m->phases[i].state == ST_STOP_COPY)
				end = m->phases[i].end_ns;
		if (end > m->downtime_start_ns) {
			s->downtime_known = true;
			s->downtime_ns = end - m->downtime_start_ns;
		}
	} else if (m->role == MIGRATION_DESTINATION && m->resuming_ns && m->running_ns) {
		s->downtime_known = true;
		s->downtime_ns = m->running_ns - m->resuming_ns;
	}
	s->pages_known = m->nsyncs > 0;
	for (unsigned int i = 0; i < m->nsyncs; i++) {
		const struct migration_sync *y = &m->syncs[i];

		if (y->ret) {
			s->sync_errors++;
			continue;
		}
		s->syncs++;
		s->sync_ns_total += y->latency_ns;
		if (y->latency_ns > s->sync_ns_max)
			s->sync_ns_max = y->latency_ns;
		if (!y->pages_known)
			s->pages_known = false;
		s->dirty_pages += y->pages;
		if (!first_sync)
			first_sync = y->ts_ns;
		last_sync = y->ts_ns;
	}
	/* the first sync reports what was dirtied since START */
	if (s->pages_known && m->log_start_ns && last_sync > m->log_start_ns) {
		double dt = (double)(last_sync - m->log_start_ns) / 1e9;

		s->dirty_pages_per_s = (double)s->dirty_pages / dt;
		s->dirty_bytes_per_s = s->dirty_pages_per_s * (double)m->log_page_size;
	}
	/* the calls seen only: unseen bytes have no time spent */
	if (m->data_ns && m->bytes > m->bytes_unseen)
		s->data_bytes_per_s =
			(double)(m->bytes - m->bytes_unseen) / ((double)m->data_ns / 1e9);
	precopy_growth(m, s);
	if (s->growth_known && s->data_bytes_per_s > 0)
		s->converges = s->data_bytes_per_s > s->state_growth_bytes_per_s;
	s->stop_copy_bytes = stop_copy_bytes_seen(m, &seen);
	if (!seen) {
		s->stop_copy_estimated = true;
		if (m->data_size_queries)
			s->stop_copy_bytes = m->data_size;
		else if (m->nprecopy)
			s->stop_copy_bytes = m->precopy[m->nprecopy - 1].initial_bytes +
					     m->precopy[m->nprecopy - 1].dirty_bytes;
	}
	if (s->data_bytes_per_s > 0)
		s->stop_copy_s = (double)s->stop_copy_bytes / s->data_bytes_per_s;
}

static uint64_t start_distance(const struct migration *a, const struct migration *b)
{
	return a->start_ns > b->start_ns ? a->start_ns - b->start_ns : b->start_ns - a->start_ns;
}

int migrations__peer(const struct migrations *ms, size_t i)
{
	const struct migration *src = migrations__get(ms, i);
	int best = -1;

	if (!src || src->role != MIGRATION_SOURCE)
		return -1;
	for (size_t j = 0; j < ms->n; j++) {
		const struct migration *d = ms->list[j];

		if (d->role != MIGRATION_DESTINATION)
			continue;
		/*
		 * A VMM enters RESUMING when the incoming stream begins, which can be before the
		 * source's device leaves RUNNING (QEMU without PRE_COPY): a destination that began
		 * earlier still qualifies if it was loading when the source began.
		 */
		uint64_t d_done = d->running_ns ? d->running_ns : d->end_ns;

		if (d->start_ns < src->start_ns && d_done && d_done < src->start_ns)
			continue;
		/* the destination nearest the source's start that no earlier source took */
		bool taken = false;

		for (size_t k = 0; k < i && !taken; k++)
			taken = ms->list[k]->role == MIGRATION_SOURCE &&
				migrations__peer(ms, k) == (int)j;
		if (!taken &&
		    (best < 0 || start_distance(d, src) < start_distance(ms->list[best], src)))
			best = (int)j;
	}
	return best;
}
