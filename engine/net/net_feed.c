/* net: a live meeting as a struct meet_feed, and the default way to find a participant's avatar. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avatar/cavatar.h"
#include "net/net.h"

enum cv_result net_resolve_avatar_file(void *user, const struct net_announce *a, struct net_avatar *out)
{
	memset(out, 0, sizeof(*out));
	CV_TRY(meet_find_avatar((const char *)user, a->avatar_file, a->avatar_hash, out->path, sizeof(out->path)));
	struct avatar_file *file = NULL;
	CV_TRY(avatar_file_open(out->path, &file));
	uint32_t latent = avatar_latent_size(file);
	enum cv_result r = CV_OK;
	if (latent != a->latent)
		r = CV_FAIL(CV_ERROR_MISMATCH, "avatar %s has latent %u, the announced stream %u", out->path, latent, a->latent);
	float *mean = calloc(latent, sizeof(float)), *std_dev = calloc(latent, sizeof(float));
	if (r == CV_OK && (!mean || !std_dev)) r = CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code statistics");
	const struct st_tensor *tm = avatar_tensor(file, "code.mean"), *ts = avatar_tensor(file, "code.std");
	for (uint32_t i = 0; r == CV_OK && i < latent; i++) std_dev[i] = 1.0f;
	if (r == CV_OK && tm && ts) {
		r = st_tensor_to_f32(tm, mean, latent);
		if (r == CV_OK) r = st_tensor_to_f32(ts, std_dev, latent);
	}
	avatar_file_destroy(&file);
	if (r != CV_OK) {
		free(mean);
		free(std_dev);
		return r;
	}
	out->latent = latent;
	out->code_mean = mean;
	out->code_std = std_dev;
	return CV_OK;
}

#define CACHE 8

struct net_feed {
	struct meet_feed base;
	struct net_receiver *receiver;
	net_resolve_avatar_fn resolve;
	void *resolve_user;
	/* Participants often share avatar files (and benchmarks seat one file many times): each is hashed and read
	 * once per feed. */
	struct {
		bool used;
		char file[SESSION_MAX_PATH + 1];
		uint8_t hash[SESSION_HASH_SIZE];
		struct net_avatar avatar;
	} cache[CACHE];
	uint32_t next;
	/* Display clock -> receiver clock: receiver us = display s * 1e6 + display_anchor_us. */
	bool anchored;
	int64_t display_anchor_us;
};

static enum cv_result copy_avatar(const struct net_avatar *in, struct net_avatar *out)
{
	*out = *in;
	out->code_mean = malloc(in->latent * sizeof(float));
	out->code_std = malloc(in->latent * sizeof(float));
	if (!out->code_mean || !out->code_std) {
		free(out->code_mean);
		free(out->code_std);
		return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "code statistics");
	}
	memcpy(out->code_mean, in->code_mean, in->latent * sizeof(float));
	memcpy(out->code_std, in->code_std, in->latent * sizeof(float));
	return CV_OK;
}

static enum cv_result cached_resolve(void *user, const struct net_announce *a, struct net_avatar *out)
{
	struct net_feed *f = user;
	for (uint32_t i = 0; i < CACHE; i++)
		if (f->cache[i].used && !strcmp(f->cache[i].file, a->avatar_file) &&
		    !memcmp(f->cache[i].hash, a->avatar_hash, SESSION_HASH_SIZE) && f->cache[i].avatar.latent == a->latent)
			return copy_avatar(&f->cache[i].avatar, out);
	CV_TRY(f->resolve(f->resolve_user, a, out));
	uint32_t i = f->next++ % CACHE;
	if (f->cache[i].used) {
		free(f->cache[i].avatar.code_mean);
		free(f->cache[i].avatar.code_std);
	}
	f->cache[i].used = copy_avatar(out, &f->cache[i].avatar) == CV_OK;
	snprintf(f->cache[i].file, sizeof(f->cache[i].file), "%s", a->avatar_file);
	memcpy(f->cache[i].hash, a->avatar_hash, SESSION_HASH_SIZE);
	return CV_OK;
}

static enum cv_result feed_update(struct meet_feed *base, double time_s)
{
	struct net_feed *f = (struct net_feed *)base;
	enum cv_result r;
	if (time_s > 0) {
		int64_t display_us = (int64_t)llround(time_s * 1e6);
		if (!f->anchored) {
			f->display_anchor_us = net_receiver_now(f->receiver) - display_us;
			f->anchored = true;
		}
		r = net_receiver_update_at(f->receiver, display_us + f->display_anchor_us);
	} else
		r = net_receiver_update(f->receiver);
	f->base.participants = net_receiver_participants(f->receiver, &f->base.count);
	return r;
}

static void feed_destroy(struct meet_feed *base)
{
	struct net_feed *f = (struct net_feed *)base;
	net_receiver_destroy(&f->receiver);
	for (uint32_t i = 0; i < CACHE; i++) {
		free(f->cache[i].avatar.code_mean);
		free(f->cache[i].avatar.code_std);
	}
	free(f);
}

enum cv_result net_feed_create(const struct net_receiver_desc *desc, struct meet_feed **out)
{
	*out = NULL;
	struct net_feed *f = calloc(1, sizeof(*f));
	if (!f) return CV_FAIL(CV_ERROR_OUT_OF_MEMORY, "net feed");
	f->base = (struct meet_feed){.update = feed_update, .destroy = feed_destroy, .duration_s = -1.0};
	f->resolve = desc->resolve_avatar ? desc->resolve_avatar : net_resolve_avatar_file;
	f->resolve_user = desc->resolve_user;
	struct net_receiver_desc d = *desc;
	d.resolve_avatar = cached_resolve;
	d.resolve_user = f;
	enum cv_result r = net_receiver_create(&d, &f->receiver);
	if (r != CV_OK) {
		free(f);
		return r;
	}
	f->base.participants = net_receiver_participants(f->receiver, &f->base.count);
	*out = &f->base;
	return CV_OK;
}

struct net_receiver *net_feed_receiver(struct meet_feed *feed)
{
	return feed && feed->update == feed_update ? ((struct net_feed *)feed)->receiver : NULL;
}
