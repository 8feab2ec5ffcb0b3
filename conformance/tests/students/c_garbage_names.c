/*
 * Multi-user chat server (networks assignment), C + pthreads, one thread per client.
 * Build: gcc -pthread -o c_garbage_names c_garbage_names.c     Run: ./c_garbage_names PORT
 * Framing: "lines" - every message is one line ending in \n.
 * Sends use a 2 s send timeout and happen outside the list lock; a client whose send fails
 * or times out is shut down (its own thread then announces that it left).
 * Defect: until a user picks a name, its slot's name[32] holds a temporary guest name
 *   ("guest" + 26 hex digits, used in the logs). The chosen name is memcpy'd over it
 *   WITHOUT the terminating NUL, and the join and leave notices print it with "%s", so they
 *   show the rest of the guest name glued to the real one:
 *   "bob_935f741 has joined" becomes "bob_935f741XXXXXXXXXXXXXXXXXXXX has joined (...)" with
 *   letters/digits right after the name. The welcome (printed from the received line) and
 *   the message labels (printed with "%.*s" and the stored length) are correct, and so are
 *   private messages and the duplicate check (they compare with the stored length).
 * Expected to fail: RF3, RF8 (when names are matched as whole tokens)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_CLIENTS 64

struct client {
    int in_use;     /* slot taken by a connection */
    int registered; /* has a name */
    int fd;
    char name[32];
    int namelen;
    char ip[INET_ADDRSTRLEN];
    int port;
    pthread_mutex_t wlock; /* one writer at a time on this socket */
};

static struct client slots[MAX_CLIENTS];
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned guest_counter = 0;

static void send_to(struct client *c, const char *msg)
{
    size_t len = strlen(msg), off = 0;
    pthread_mutex_lock(&c->wlock);
    while (off < len) {
        ssize_t n = send(c->fd, msg + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            /* dead or too slow: hang up, its thread will clean up */
            shutdown(c->fd, SHUT_RDWR);
            break;
        }
        off += n;
    }
    pthread_mutex_unlock(&c->wlock);
}

/* send to every registered client except `except` */
static void broadcast(const char *msg, struct client *except)
{
    struct client *targets[MAX_CLIENTS];
    int n = 0;
    pthread_mutex_lock(&list_lock);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (slots[i].in_use && slots[i].registered && &slots[i] != except)
            targets[n++] = &slots[i];
    pthread_mutex_unlock(&list_lock);
    for (int i = 0; i < n; i++)
        send_to(targets[i], msg);
}

/* caller holds list_lock */
static struct client *find_name(const char *name, int len)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (slots[i].in_use && slots[i].registered && slots[i].namelen == len &&
            strncmp(slots[i].name, name, len) == 0)
            return &slots[i];
    return NULL;
}

/* read one line (without \n / \r) into line; returns length or -1 on EOF/error */
static int read_line(int fd, char *buf, int *buflen, char *line, int size)
{
    for (;;) {
        char *nl = memchr(buf, '\n', *buflen);
        if (nl) {
            int len = nl - buf;
            int keep = len < size - 1 ? len : size - 1;
            memcpy(line, buf, keep);
            line[keep] = '\0';
            if (keep > 0 && line[keep - 1] == '\r')
                line[--keep] = '\0';
            memmove(buf, nl + 1, *buflen - len - 1);
            *buflen -= len + 1;
            return keep;
        }
        if (*buflen == 4096) /* line too long, drop it */
            *buflen = 0;
        ssize_t n = recv(fd, buf + *buflen, 4096 - *buflen, 0);
        if (n <= 0)
            return -1;
        *buflen += n;
    }
}

static void *handle(void *arg)
{
    struct client *me = arg;
    char buf[4096], line[1100], out[1400];
    int buflen = 0, len;

    send_to(me, "Enter your name:\n");
    for (;;) {
        len = read_line(me->fd, buf, &buflen, line, sizeof line);
        if (len < 0)
            goto done;
        if (len == 0 || strchr(line, ' ') || strchr(line, '@')) {
            send_to(me, "Invalid name: no spaces and no @. Enter your name:\n");
            continue;
        }
        if (len >= (int)sizeof me->name) {
            send_to(me, "Name too long. Enter your name:\n");
            continue;
        }
        pthread_mutex_lock(&list_lock);
        int taken = find_name(line, len) != NULL;
        if (!taken) {
            memcpy(me->name, line, len); /* copy the name over the guest name */
            me->namelen = len;
            me->registered = 1;
        }
        pthread_mutex_unlock(&list_lock);
        if (taken) {
            send_to(me, "That name is taken. Enter your name:\n");
            continue;
        }
        break;
    }

    snprintf(out, sizeof out, "Welcome, %s! You are connected from %s:%d\n", line, me->ip, me->port);
    send_to(me, out);
    snprintf(out, sizeof out, "%s has joined (%s:%d)\n", me->name, me->ip, me->port);
    broadcast(out, me);
    printf("%s", out);

    while ((len = read_line(me->fd, buf, &buflen, line, sizeof line)) >= 0) {
        if (len == 0)
            continue;
        if (line[0] == '@') {
            char *sp = strchr(line, ' ');
            const char *text = sp ? sp + 1 : "";
            int tolen = sp ? (int)(sp - line - 1) : len - 1;
            if (tolen == me->namelen && strncmp(line + 1, me->name, tolen) == 0) {
                send_to(me, "You can't send a private message to yourself.\n");
                continue;
            }
            pthread_mutex_lock(&list_lock);
            struct client *dest = find_name(line + 1, tolen);
            pthread_mutex_unlock(&list_lock);
            if (dest) {
                snprintf(out, sizeof out, "[private] %.*s: %s\n", me->namelen, me->name, text);
                send_to(dest, out);
            } else {
                snprintf(out, sizeof out, "No such user: %.*s\n", tolen, line + 1);
                send_to(me, out);
            }
        } else {
            snprintf(out, sizeof out, "%.*s: %s\n", me->namelen, me->name, line);
            printf("%s", out);
            broadcast(out, me);
        }
    }

done:
    pthread_mutex_lock(&list_lock);
    int was_registered = me->registered;
    me->registered = 0;
    pthread_mutex_unlock(&list_lock);
    if (was_registered) {
        snprintf(out, sizeof out, "%s has left the chat\n", me->name);
        broadcast(out, me);
        printf("%s", out);
    }
    pthread_mutex_lock(&me->wlock);
    close(me->fd);
    pthread_mutex_unlock(&me->wlock);
    pthread_mutex_lock(&list_lock);
    me->in_use = 0;
    pthread_mutex_unlock(&list_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 1;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < MAX_CLIENTS; i++)
        pthread_mutex_init(&slots[i].wlock, NULL);

    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(srv, 16) < 0) {
        perror("bind/listen");
        return 1;
    }
    printf("server listening on 127.0.0.1:%s\n", argv[1]);

    for (;;) {
        struct sockaddr_in ca;
        socklen_t alen = sizeof ca;
        int fd = accept(srv, (struct sockaddr *)&ca, &alen);
        if (fd < 0)
            continue;
        struct timeval tv = {2, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

        pthread_mutex_lock(&list_lock);
        struct client *c = NULL;
        for (int i = 0; i < MAX_CLIENTS; i++)
            if (!slots[i].in_use) {
                c = &slots[i];
                break;
            }
        if (c) {
            c->in_use = 1;
            c->registered = 0;
            c->fd = fd;
            c->port = ntohs(ca.sin_port);
            inet_ntop(AF_INET, &ca.sin_addr, c->ip, sizeof c->ip);
            /* temporary name until the user picks one */
            snprintf(c->name, sizeof c->name, "guest%08x%08x%010u", (unsigned)c->port,
                     (unsigned)fd, ++guest_counter);
        }
        pthread_mutex_unlock(&list_lock);
        if (!c) {
            send(fd, "Server full\n", 12, MSG_NOSIGNAL);
            close(fd);
            continue;
        }
        printf("connection from %s:%d (%s)\n", c->ip, c->port, c->name);
        pthread_t t;
        pthread_create(&t, NULL, handle, c);
        pthread_detach(t);
    }
}
