/* nam56r-preflight: exec'd in place of the trainer (same argv, same per-rank
 * environment), it builds the communicators Megatron would build, checks
 * that they hold the ranks the plan says, and measures NCCL bus bandwidth
 * in each of them. Rank 0 gathers, judges and reports. Plain C on the CUDA
 * runtime API and NCCL; the judging lives in the pure library. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "job/n56job.h"
#include "preflight/preflight.h"

#define BOOT_MAGIC 0x4e353650u /* "N56P" */

static long my_rank = -1;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nam56r-preflight: rank %ld: ", my_rank);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CUDA_TRY(call)                                                \
	do {                                                          \
		cudaError_t e_ = (call);                              \
		if (e_ != cudaSuccess) {                              \
			say("%s: %s", #call, cudaGetErrorString(e_)); \
			goto out;                                     \
		}                                                     \
	} while (0)
#define NCCL_TRY(call)                                                \
	do {                                                          \
		ncclResult_t r_ = (call);                             \
		if (r_ != ncclSuccess) {                              \
			say("%s: %s", #call, ncclGetErrorString(r_)); \
			goto out;                                     \
		}                                                     \
	} while (0)

/* What each rank sends to rank 0: plain bytes, the same build on every
 * rank, so no encoding is needed. */
struct wire {
	int32_t rank, island, local_rank, coords_ok;
	int32_t verified[N56PF_NKINDS]; /* as leader of its group */
	int32_t measured[N56PF_NKINDS];
	double time_us[N56PF_NKINDS][N56PF_MAX_SIZES];
	char host[64];
	char pci[32];
	char coords_why[160];
	char verify_why[N56PF_NKINDS][96];
	char plan[65]; /* NAM56R_PLAN_SHA256: every rank must run one plan */
};

static const char *env_str(const char *name)
{
	return getenv(name);
}

static int env_long(const char *name, long *out)
{
	const char *s = getenv(name);
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int io_full(int fd, void *buf, size_t len, bool writing)
{
	char *p = buf;

	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void set_io_timeout(int fd, long seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Rank 0 serves the NCCL unique id at MASTER_ADDR:MASTER_PORT; the others
 * fetch it, retrying until the limit since rank 0 may start later. */
static int serve_id(const char *port, long world, long timeout_s,
		    const ncclUniqueId *id)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM },
			*ai = NULL;
	int lfd = -1, rc = -1, one = 1, g;
	double deadline = now_s() + (double)timeout_s;
	long served = 0;

	if ((g = getaddrinfo(NULL, port, &hints, &ai)) != 0) {
		say("bootstrap: port %s: %s", port, gai_strerror(g));
		return -1;
	}
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		lfd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
		if (lfd < 0)
			continue;
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(lfd, a->ai_addr, a->ai_addrlen) == 0 &&
		    listen(lfd, 128) == 0)
			break;
		close(lfd);
		lfd = -1;
	}
	if (lfd < 0) {
		say("bootstrap: cannot listen on port %s: %s (is MASTER_PORT "
		    "taken?)",
		    port, strerror(errno));
		goto out;
	}
	while (served < world - 1) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		uint32_t hello[2], reply[2] = { BOOT_MAGIC, (uint32_t)world };
		double left = deadline - now_s();
		int fd;

		if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0) {
			say("bootstrap: only %ld of %ld ranks connected within "
			    "%ld s",
			    served + 1, world, timeout_s);
			goto out;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		set_io_timeout(fd, 10);
		if (io_full(fd, hello, sizeof(hello), false) < 0 ||
		    hello[0] != BOOT_MAGIC) {
			close(fd); /* not one of ours: keep waiting */
			continue;
		}
		if (io_full(fd, reply, sizeof(reply), true) < 0 ||
		    io_full(fd, (void *)id, sizeof(*id), true) < 0) {
			close(fd);
			continue;
		}
		close(fd);
		served++;
	}
	rc = 0;
out:
	if (lfd >= 0)
		close(lfd);
	freeaddrinfo(ai);
	return rc;
}

static int fetch_id(const char *addr, const char *port, long world,
		    long timeout_s, ncclUniqueId *id)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	double deadline = now_s() + (double)timeout_s;
	char why[128] = "no answer";
	int g;

	for (;;) {
		uint32_t hello[2] = { BOOT_MAGIC, (uint32_t)my_rank }, reply[2];

		if ((g = getaddrinfo(addr, port, &hints, &ai)) != 0) {
			snprintf(why, sizeof(why), "%s", gai_strerror(g));
			ai = NULL;
		}
		for (struct addrinfo *a = ai; a; a = a->ai_next) {
			int fd = socket(a->ai_family,
					a->ai_socktype | SOCK_CLOEXEC, 0);

			if (fd < 0)
				continue;
			set_io_timeout(fd, 10);
			if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
				snprintf(why, sizeof(why), "%s",
					 strerror(errno));
				close(fd);
				continue;
			}
			if (io_full(fd, hello, sizeof(hello), true) == 0 &&
			    io_full(fd, reply, sizeof(reply), false) == 0 &&
			    io_full(fd, id, sizeof(*id), false) == 0) {
				close(fd);
				freeaddrinfo(ai);
				if (reply[0] != BOOT_MAGIC ||
				    reply[1] != (uint32_t)world) {
					say("bootstrap: %s:%s answered for a "
					    "world of %u, this rank has %ld",
					    addr, port, reply[1], world);
					return -1;
				}
				return 0;
			}
			snprintf(why, sizeof(why), "connection dropped");
			close(fd);
		}
		if (ai)
			freeaddrinfo(ai);
		ai = NULL;
		if (now_s() > deadline) {
			say("bootstrap: cannot reach rank 0 at %s:%s within "
			    "%ld s: %s",
			    addr, port, timeout_s, why);
			return -1;
		}
		usleep(200 * 1000);
	}
}

/* One timed operation of a kind on comm; peer is the other stage for PP
 * (sender when sending is true). CP is the ring exchange of context
 * parallel attention: each rank sends to the next and receives from the
 * previous at once. */
static ncclResult_t run_op(enum n56pf_kind k, ncclComm_t comm, long n, int peer,
			   bool sending, float *send, float *recv, size_t bytes,
			   cudaStream_t st)
{
	size_t count = bytes / sizeof(float);
	ncclResult_t r;

	switch (k) {
	case N56PF_PP:
		return sending ? ncclSend(send, count, ncclFloat, peer, comm,
					  st)
			       : ncclRecv(recv, count, ncclFloat, peer, comm,
					  st);
	case N56PF_CP: { /* one step of the ring attention's exchange */
		int me;

		if ((r = ncclCommUserRank(comm, &me)) != ncclSuccess ||
		    (r = ncclGroupStart()) != ncclSuccess)
			return r;
		r = ncclSend(send, count, ncclFloat, (int)((me + 1) % n), comm,
			     st);
		if (r == ncclSuccess)
			r = ncclRecv(recv, count, ncclFloat,
				     (int)((me + n - 1) % n), comm, st);
		if (r != ncclSuccess) {
			ncclGroupEnd();
			return r;
		}
		return ncclGroupEnd();
	}
	case N56PF_EP:
		count /= (size_t)n;
		if ((r = ncclGroupStart()) != ncclSuccess)
			return r;
		for (int p = 0; p < n; p++) {
			r = ncclSend(send + (size_t)p * count, count, ncclFloat,
				     p, comm, st);
			if (r == ncclSuccess)
				r = ncclRecv(recv + (size_t)p * count, count,
					     ncclFloat, p, comm, st);
			if (r != ncclSuccess) {
				ncclGroupEnd();
				return r;
			}
		}
		return ncclGroupEnd();
	default:
		return ncclAllReduce(send, recv, count, ncclFloat, ncclSum,
				     comm, st);
	}
}

struct bench {
	const struct n56pf_config *cfg;
	const size_t *sizes;
	int nsizes;
	float *send, *recv;
	double *dtimes; /* device scratch for the max over a group */
	size_t dtimes_len;
	cudaStream_t st;
	cudaEvent_t t0, t1;
};

/* Times each size on comm; times_us gets this rank's per-iteration time. */
static int measure(struct bench *b, enum n56pf_kind k, ncclComm_t comm, long n,
		   int peer, bool sending, double *times_us)
{
	int rc = -1;

	for (int i = 0; i < b->nsizes; i++) {
		float ms = 0;

		for (int w = 0; w < b->cfg->warmup; w++)
			NCCL_TRY(run_op(k, comm, n, peer, sending, b->send,
					b->recv, b->sizes[i], b->st));
		CUDA_TRY(cudaEventRecord(b->t0, b->st));
		for (int it = 0; it < b->cfg->iters; it++)
			NCCL_TRY(run_op(k, comm, n, peer, sending, b->send,
					b->recv, b->sizes[i], b->st));
		CUDA_TRY(cudaEventRecord(b->t1, b->st));
		CUDA_TRY(cudaEventSynchronize(b->t1));
		CUDA_TRY(cudaEventElapsedTime(&ms, b->t0, b->t1));
		times_us[i] = (double)ms * 1000.0 / b->cfg->iters;
	}
	rc = 0;
out:
	return rc;
}

/* The slowest rank's times, over comm (in place, len doubles). */
static int max_over(struct bench *b, ncclComm_t comm, double *times, size_t len)
{
	int rc = -1;

	if (len > b->dtimes_len) {
		say("internal: %zu timings exceed the scratch of %zu", len,
		    b->dtimes_len);
		return -1;
	}
	CUDA_TRY(cudaMemcpy(b->dtimes, times, len * sizeof(double),
			    cudaMemcpyHostToDevice));
	NCCL_TRY(ncclAllReduce(b->dtimes, b->dtimes, len, ncclDouble, ncclMax,
			       comm, b->st));
	CUDA_TRY(cudaStreamSynchronize(b->st));
	CUDA_TRY(cudaMemcpy(times, b->dtimes, len * sizeof(double),
			    cudaMemcpyDeviceToHost));
	rc = 0;
out:
	return rc;
}

static int barrier(struct bench *b, ncclComm_t world)
{
	double x = 0;

	return max_over(b, world, &x, 1);
}

/* Checks that comm holds exactly the ranks the grid says: its size, this
 * rank's place in it, and the sum of the global ranks it reduces. */
static int verify(const struct n56pf_grid *g, enum n56pf_kind k,
		  ncclComm_t comm, int64_t *dscratch, cudaStream_t st,
		  struct wire *w)
{
	long group, index, n = n56pf_group_size(g, k);
	long members[n];
	int count = -1, user = -1, rc = -1;
	int64_t mine[2], want = 0;

	n56pf_group_of(g, k, my_rank, &group, &index);
	n56pf_group_members(g, k, group, members);
	for (long i = 0; i < n; i++)
		want += members[i];
	NCCL_TRY(ncclCommCount(comm, &count));
	NCCL_TRY(ncclCommUserRank(comm, &user));
	mine[0] = my_rank;
	mine[1] = count != n || user != index;
	CUDA_TRY(cudaMemcpy(dscratch, mine, sizeof(mine),
			    cudaMemcpyHostToDevice));
	NCCL_TRY(ncclAllReduce(dscratch, dscratch, 2, ncclInt64, ncclSum, comm,
			       st));
	CUDA_TRY(cudaStreamSynchronize(st));
	CUDA_TRY(cudaMemcpy(mine, dscratch, sizeof(mine),
			    cudaMemcpyDeviceToHost));
	w->verified[k] = mine[0] == want && mine[1] == 0;
	if (!w->verified[k])
		snprintf(w->verify_why[k], sizeof(w->verify_why[k]),
			 "communicator holds %d ranks (rank sum %lld), the "
			 "plan says %ld (sum %lld)",
			 count, (long long)mine[0], n, (long long)want);
	rc = 0;
out:
	return rc;
}

/* Rank 0 receives every rank's wire struct (grouped send/recv). */
static int gather(struct wire *mine, struct wire *all, long world,
		  ncclComm_t comm, cudaStream_t st)
{
	void *dall = NULL;
	int rc = -1;
	size_t one = sizeof(*mine);

	CUDA_TRY(cudaMalloc(&dall, my_rank == 0 ? one * (size_t)world : one));
	CUDA_TRY(cudaMemcpy(dall, mine, one, cudaMemcpyHostToDevice));
	NCCL_TRY(ncclGroupStart());
	if (my_rank == 0) {
		for (long r = 1; r < world; r++)
			NCCL_TRY(ncclRecv((char *)dall + one * (size_t)r, one,
					  ncclChar, (int)r, comm, st));
	} else {
		NCCL_TRY(ncclSend(dall, one, ncclChar, 0, comm, st));
	}
	NCCL_TRY(ncclGroupEnd());
	CUDA_TRY(cudaStreamSynchronize(st));
	if (my_rank == 0)
		CUDA_TRY(cudaMemcpy(all, dall, one * (size_t)world,
				    cudaMemcpyDeviceToHost));
	rc = 0;
out:
	cudaFree(dall);
	return rc;
}

static int write_report(const struct n56pf_config *cfg,
			struct n56pf_report *rep)
{
	char *json = NULL;
	int rc = 0;

	if (cfg->json_path || cfg->format == N56PF_JSON) {
		json = n56pf_report_json(rep);
		if (!json) {
			say("out of memory for the JSON report");
			return -1;
		}
	}
	if (cfg->format == N56PF_JSON)
		printf("%s\n", json);
	else
		n56pf_report_text(stdout, rep);
	fflush(stdout);
	if (cfg->json_path) {
		FILE *f = fopen(cfg->json_path, "w");

		if (!f || fprintf(f, "%s\n", json) < 0 || fclose(f) != 0) {
			say("cannot write %s: %s", cfg->json_path,
			    strerror(errno));
			rc = -1;
		}
	}
	free(json);
	return rc;
}

/* Rank 0: turn the gathered structs into the report and judge it. */
static void fill_report(struct n56pf_report *rep, const struct wire *all)
{
	const char *sha = getenv(N56_ENV_PLAN_SHA);
	const char *deg = getenv(N56_ENV_ISLANDS_DEGRADED);

	rep->degraded = deg && *deg && strcmp(deg, "0") != 0;
	if (sha)
		snprintf(rep->plan_sha256, sizeof(rep->plan_sha256), "%s", sha);
	for (long r = 0; r < rep->grid.world; r++) {
		struct n56pf_rank_info *ri = &rep->ranks[r];
		const struct wire *w = &all[r];

		ri->island = w->island;
		ri->local_rank = w->local_rank;
		ri->coords_ok = w->coords_ok;
		snprintf(ri->host, sizeof(ri->host), "%.63s", w->host);
		snprintf(ri->pci, sizeof(ri->pci), "%.31s", w->pci);
		snprintf(ri->coords_why, sizeof(ri->coords_why), "%.159s",
			 w->coords_why);
		if (strncmp(w->plan, all[0].plan, sizeof(w->plan))) {
			ri->coords_ok = false;
			snprintf(ri->coords_why, sizeof(ri->coords_why),
				 "runs plan %.12s, rank 0 runs %.12s (a rank "
				 "started from another recipe or policy)",
				 w->plan[0] ? w->plan : "none",
				 all[0].plan[0] ? all[0].plan : "none");
		}
	}
	for (size_t i = 0; i < rep->ngroups; i++) {
		struct n56pf_group_result *e = &rep->groups[i];
		const struct wire *lead = &all[e->ranks[0]];

		e->verified = lead->verified[e->kind];
		snprintf(e->verify_why, sizeof(e->verify_why), "%.95s",
			 lead->verify_why[e->kind]);
		e->measured = lead->measured[e->kind];
		memcpy(e->time_us, lead->time_us[e->kind], sizeof(e->time_us));
	}
	n56pf_report_judge(rep);
}

/* One run of the preflight on this rank, from its options to its report. */
struct run {
	struct n56pf_config cfg;
	struct n56pf_grid grid;
	struct n56pf_report rep;
	struct bench b;
	struct wire mine, *all;
	ncclComm_t world_comm, comm[N56PF_NKINDS];
	size_t sizes[N56PF_MAX_SIZES];
	int nsizes;
	int64_t *dscratch;
	double *pp_times;
	long world, local_rank;
	const char *addr, *port;
};

/* The options and this rank's identity from the environment; 0, or the
 * exit status (-1: --help was answered, exit 0). */
static int identify(struct run *x, int argc, char **argv)
{
	long island = -1;
	char err[512];

	if (n56pf_parse_args(argc, argv, env_str, &x->cfg, err, sizeof(err))) {
		fprintf(stderr, "nam56r-preflight: %s\n", err);
		n56pf_usage(stderr);
		return 2;
	}
	if (x->cfg.help) {
		n56pf_usage(stdout);
		return -1;
	}
	if (env_long("RANK", &my_rank) || env_long("WORLD_SIZE", &x->world) ||
	    env_long("LOCAL_RANK", &x->local_rank) ||
	    !(x->addr = getenv("MASTER_ADDR")) ||
	    !(x->port = getenv("MASTER_PORT")) || my_rank < 0 ||
	    my_rank >= x->world) {
		fprintf(stderr,
			"nam56r-preflight: RANK, WORLD_SIZE, "
			"LOCAL_RANK, MASTER_ADDR and MASTER_PORT must be set "
			"(run it under nam56r-launch, or `nam56r-launch local "
			"-n N -- nam56r-preflight`)\n");
		return 2;
	}
	if (n56pf_grid_init(&x->grid, x->world, &x->cfg, err, sizeof(err))) {
		say("%s", err);
		return 2;
	}
	x->nsizes = n56pf_sizes(&x->cfg, x->sizes);
	x->mine.rank = (int32_t)my_rank;
	x->mine.local_rank = (int32_t)x->local_rank;
	x->mine.island =
		env_long(N56_ENV_ISLAND, &island) ? -1 : (int32_t)island;
	gethostname(x->mine.host, sizeof(x->mine.host) - 1);
	if (getenv(N56_ENV_PLAN_SHA))
		snprintf(x->mine.plan, sizeof(x->mine.plan), "%.64s",
			 getenv(N56_ENV_PLAN_SHA));
	x->mine.coords_ok =
		n56pf_check_env_coords(&x->grid, my_rank, env_str,
				       x->mine.coords_why,
				       sizeof(x->mine.coords_why)) == 0;
	if (!x->mine.coords_ok)
		say("%s", x->mine.coords_why);
	return 0;
}

/* This rank's GPU, the world communicator (its id from rank 0 over TCP)
 * and one communicator per kind of group. */
static int connect_ranks(struct run *x)
{
	ncclUniqueId id;

	CUDA_TRY(cudaSetDevice((int)x->local_rank));
	CUDA_TRY(cudaDeviceGetPCIBusId(x->mine.pci, sizeof(x->mine.pci),
				       (int)x->local_rank));
	if (my_rank == 0) {
		NCCL_TRY(ncclGetUniqueId(&id));
		if (serve_id(x->port, x->world, x->cfg.timeout_s, &id))
			goto out;
	} else if (fetch_id(x->addr, x->port, x->world, x->cfg.timeout_s,
			    &id)) {
		goto out;
	}
	NCCL_TRY(ncclCommInitRank(&x->world_comm, (int)x->world, id,
				  (int)my_rank));
	for (int k = 0; k < N56PF_NKINDS; k++) {
		long group, index;

		n56pf_group_of(&x->grid, k, my_rank, &group, &index);
		NCCL_TRY(ncclCommSplit(x->world_comm, (int)group, (int)index,
				       &x->comm[k], NULL));
	}
	return 0;
out:
	return -1;
}

/* The buffers and timers every measurement uses. */
static int buffers(struct run *x)
{
	struct bench *b = &x->b;

	b->cfg = &x->cfg;
	b->sizes = x->sizes;
	b->nsizes = x->nsizes;
	b->dtimes_len =
		(size_t)(x->grid.pp > 1 ? x->grid.pp - 1 : 1) * N56PF_MAX_SIZES;
	CUDA_TRY(cudaStreamCreateWithFlags(&b->st, cudaStreamNonBlocking));
	CUDA_TRY(cudaEventCreate(&b->t0));
	CUDA_TRY(cudaEventCreate(&b->t1));
	CUDA_TRY(cudaMalloc((void **)&b->send, x->cfg.max_bytes));
	CUDA_TRY(cudaMalloc((void **)&b->recv, x->cfg.max_bytes));
	CUDA_TRY(cudaMalloc((void **)&b->dtimes,
			    b->dtimes_len * sizeof(double)));
	CUDA_TRY(cudaMalloc((void **)&x->dscratch, 2 * sizeof(int64_t)));
	CUDA_TRY(cudaMemset(b->send, 0, x->cfg.max_bytes));
	CUDA_TRY(cudaMemset(b->recv, 0, x->cfg.max_bytes));
	return 0;
out:
	return -1;
}

/* TP, CP, DP and EP groups, each kind side by side as in training; every
 * rank runs the same phases in the same order. */
static int measure_collectives(struct run *x)
{
	static const enum n56pf_kind collective[] = { N56PF_TP, N56PF_CP,
						      N56PF_DP, N56PF_EP };

	for (size_t i = 0; i < sizeof(collective) / sizeof(collective[0]);
	     i++) {
		enum n56pf_kind k = collective[i];
		long n = n56pf_group_size(&x->grid, k);

		if (n > 1) {
			if (measure(&x->b, k, x->comm[k], n, 0, false,
				    x->mine.time_us[k]) ||
			    max_over(&x->b, x->comm[k], x->mine.time_us[k],
				     (size_t)x->nsizes))
				return -1;
			x->mine.measured[k] = 1;
		}
		if (barrier(&x->b, x->world_comm))
			return -1;
	}
	return 0;
}

/* Send/recv between each pair of adjacent pipeline stages, one pair at a
 * time; each stage keeps the times to the next. */
static int measure_pipeline(struct run *x)
{
	size_t row = (size_t)x->nsizes;
	long group, stage, pp = x->grid.pp;

	if (pp <= 1)
		return 0;
	n56pf_group_of(&x->grid, N56PF_PP, my_rank, &group, &stage);
	x->pp_times = calloc((size_t)(pp - 1) * row, sizeof(double));
	if (!x->pp_times) {
		say("out of memory");
		return -1;
	}
	for (long s = 0; s + 1 < pp; s++) {
		if (stage == s || stage == s + 1) {
			bool sending = stage == s;

			if (measure(&x->b, N56PF_PP, x->comm[N56PF_PP], 2,
				    (int)(sending ? s + 1 : s), sending,
				    x->pp_times + (size_t)s * row))
				return -1;
		}
		if (barrier(&x->b, x->world_comm))
			return -1;
	}
	if (max_over(&x->b, x->comm[N56PF_PP], x->pp_times,
		     (size_t)(pp - 1) * row))
		return -1;
	if (stage + 1 < pp) {
		memcpy(x->mine.time_us[N56PF_PP],
		       x->pp_times + (size_t)stage * row, row * sizeof(double));
		x->mine.measured[N56PF_PP] = 1;
	}
	return 0;
}

/* Every rank's results to rank 0, which judges and writes the report.
 * The exit status: 0 when every group passes. */
static int judge(struct run *x)
{
	char err[512];
	int nccl_version = 0;

	if (my_rank == 0) {
		x->all = calloc((size_t)x->world, sizeof(*x->all));
		if (!x->all) {
			say("out of memory for %ld ranks", x->world);
			return 1;
		}
	}
	if (gather(&x->mine, x->all, x->world, x->world_comm, x->b.st))
		return 1;
	if (my_rank != 0)
		return x->mine.coords_ok ? 0 : 1;
	if (n56pf_report_init(&x->rep, &x->grid, &x->cfg, x->sizes, x->nsizes,
			      err, sizeof(err))) {
		say("%s", err);
		return 1;
	}
	ncclGetVersion(&nccl_version);
	snprintf(x->rep.nccl_version, sizeof(x->rep.nccl_version), "%d.%d.%d",
		 nccl_version / 10000, nccl_version / 100 % 100,
		 nccl_version % 100);
	fill_report(&x->rep, x->all);
	return write_report(&x->cfg, &x->rep) || x->rep.verdict != N56PF_PASS;
}

static void run_free(struct run *x)
{
	for (int k = 0; k < N56PF_NKINDS; k++)
		if (x->comm[k])
			ncclCommDestroy(x->comm[k]);
	if (x->world_comm)
		ncclCommDestroy(x->world_comm);
	cudaFree(x->b.send);
	cudaFree(x->b.recv);
	cudaFree(x->b.dtimes);
	cudaFree(x->dscratch);
	if (x->b.t0)
		cudaEventDestroy(x->b.t0);
	if (x->b.t1)
		cudaEventDestroy(x->b.t1);
	if (x->b.st)
		cudaStreamDestroy(x->b.st);
	free(x->pp_times);
	free(x->all);
	n56pf_report_clear(&x->rep);
	n56pf_config_clear(&x->cfg);
}

int main(int argc, char **argv)
{
	static struct run x; /* zeroed: every handle starts unset */
	int rc;

	/* Multicast can take a shared host's GPUs out of service: off unless
	 * the operator says otherwise. */
	setenv("NCCL_NVLS_ENABLE", "0", 0);
	rc = identify(&x, argc, argv);
	if (rc) {
		n56pf_config_clear(&x.cfg);
		return rc < 0 ? 0 : rc;
	}
	rc = 1;
	if (connect_ranks(&x) || buffers(&x))
		goto out;
	for (int k = 0; k < N56PF_NKINDS; k++)
		if (verify(&x.grid, k, x.comm[k], x.dscratch, x.b.st, &x.mine))
			goto out;
	if (measure_collectives(&x) || measure_pipeline(&x))
		goto out;
	rc = judge(&x);
out:
	run_free(&x);
	return rc;
}
