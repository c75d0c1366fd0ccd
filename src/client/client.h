/* client: the message pipeline a sender and a receiver run (client.md §5.1-§5.3), independent of
 * the transport: the sender gets the records to publish, the receiver reads through a fetch
 * callback. */
#ifndef DMP_CLIENT_H
#define DMP_CLIENT_H

#include "client/client_types.h"

/* Sender: header -> seal (AAD with the prekey id) -> outer DMPMessage -> erasure + chunk records
 * -> signed slot manifest. Appends n chunk records (chunk-NNNN-<key>.<zone>) and then the manifest
 * (slot-N.mb-<h>.<zone>) to out. */
int dmp_client_compose(const dmp_client_send_t *p, const uint8_t *msg, size_t len,
                       dmp_client_records_t *out);
void dmp_client_records_free(dmp_client_records_t *r);

/* Receiver: walks the ten mailbox slots, verifies each manifest addressed to self, fetches and
 * checks its chunks (only from the manifest's zone), erasure-decodes, opens and checks the inner
 * header against the manifest. Every delivered message is appended to *msgs (array grown with
 * realloc; *count updated). Undecodable or foreign manifests are skipped, not errors. */
int dmp_client_receive(const dmp_client_recv_t *r, dmp_client_message_t **msgs, size_t *count);
void dmp_client_messages_free(dmp_client_message_t *msgs, size_t count);

/* dmp_client_fetch_fn over a dmp_client_memzone_t (ctx). */
int dmp_client_memzone_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n);

#endif
