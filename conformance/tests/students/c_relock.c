/*
 * Multi-user chat server (networks assignment), C + pthreads.
 * Build: gcc -pthread -o c_relock c_relock.c      Run: ./c_relock PORT
 * Framing: "writes" - each recv() of up to 1024 bytes is one message (trailing \r\n
 *   stripped), like the assignment.
 * Design (from the assignment): one global mutex (default, NOT recursive) is held while
 *   the message is sent to every client with a blocking send().
 * Defect: when a send fails (EPIPE - SIGPIPE is ignored), the error path calls
 *   remove_client(), which locks the same mutex again -> self-deadlock. That thread
 *   freezes holding the lock and every other thread freezes on its next lock: the process
 *   stays alive and accept() still accepts, but nothing is relayed any more.
 *   A send fails as soon as a user leaves: its thread shuts the socket down and then
 *   broadcasts "<name> left the chat" to everybody still in the list (-1 = skip nobody),
 *   including its own, already shut down, socket. The list is a linked list with the newest
 *   client first, so users that joined after the leaver get the leave notice before the
 *   freeze; users that joined before it get nothing.
 *   Also: a client that stops reading blocks send() while the lock is held -> chat freezes.
 * Expected to fail: RF8, RF10, RF4
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
#include <unistd.h>

struct client {
    int fd;
    char name[64];
    char ip[INET_ADDRSTRLEN];
    int port;
    struct client *next;
};

static struct client *clients = NULL;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void remove_client(int fd)
{
    pthread_mutex_lock(&lock);
    struct client **pp = &clients;
    while (*pp) {
        if ((*pp)->fd == fd) {
            struct client *dead = *pp;
            *pp = dead->next;
            printf("removed %s\n", dead->name);
            free(dead);
            break;
        }
        pp = &(*pp)->next;
    }
    pthread_mutex_unlock(&lock);
}

/* send msg to every client except the one with fd `except` (-1: everybody) */
static void broadcast(const char *msg, int except)
{
    pthread_mutex_lock(&lock);
    for (struct client *c = clients; c != NULL; c = c->next) {
        if (c->fd == except)
            continue;
        if (send(c->fd, msg, strlen(msg), 0) < 0) {
            perror("send");
            remove_client(c->fd); /* broken client, take it out */
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

static void send_str(int fd, const char *s)
{
    send(fd, s, strlen(s), 0);
}

static struct client *find(const char *name)
{
    for (struct client *c = clients; c != NULL; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int recv_msg(int fd, char *buf, size_t size)
{
    ssize_t n = recv(fd, buf, size - 1, 0);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return (int)n;
}

static void *handle(void *arg)
{
    struct client *me = arg;
    char buf[1025], out[1200];
    int fd = me->fd;

    send_str(fd, "Enter your name:\n");
    for (;;) {
        if (recv_msg(fd, buf, sizeof buf) < 0) {
            close(fd);
            free(me);
            return NULL;
        }
        if (buf[0] == '\0' || strchr(buf, ' ') || strchr(buf, '@') || strlen(buf) >= sizeof me->name) {
            send_str(fd, "Invalid name (no spaces or @). Enter your name:\n");
            continue;
        }
        pthread_mutex_lock(&lock);
        int taken = find(buf) != NULL;
        if (!taken) {
            strcpy(me->name, buf);
            me->next = clients; /* insert at the head */
            clients = me;
        }
        pthread_mutex_unlock(&lock);
        if (taken) {
            send_str(fd, "Name already in use. Enter your name:\n");
            continue;
        }
        break;
    }

    snprintf(out, sizeof out, "Welcome %s! Your IP: %s, port: %d\n", me->name, me->ip, me->port);
    send_str(fd, out);
    snprintf(out, sizeof out, "%s joined the chat (IP: %s, port: %d)\n", me->name, me->ip, me->port);
    broadcast(out, fd);
    printf("%s", out);

    char name[64];
    strcpy(name, me->name);
    while (recv_msg(fd, buf, sizeof buf) >= 0) {
        if (buf[0] == '\0')
            continue;
        printf("%s: %s\n", name, buf);
        if (buf[0] == '@') {
            char *sp = strchr(buf, ' ');
            const char *text = "";
            if (sp) {
                *sp = '\0';
                text = sp + 1;
            }
            const char *to = buf + 1;
            if (strcmp(to, name) == 0) {
                send_str(fd, "You cannot send a private message to yourself.\n");
                continue;
            }
            pthread_mutex_lock(&lock);
            struct client *dest = find(to);
            if (dest) {
                snprintf(out, sizeof out, "%s (private): %s\n", name, text);
                send_str(dest->fd, out);
            } else {
                snprintf(out, sizeof out, "User %s not found.\n", to);
                send_str(fd, out);
            }
            pthread_mutex_unlock(&lock);
        } else {
            snprintf(out, sizeof out, "%s: %s\n", name, buf);
            broadcast(out, fd);
        }
    }

    /* client is gone */
    printf("%s disconnected\n", name);
    shutdown(fd, SHUT_RDWR);
    snprintf(out, sizeof out, "%s left the chat\n", name);
    broadcast(out, -1);
    remove_client(fd);
    close(fd);
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

    int srv = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(srv, 5) < 0) {
        perror("bind/listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%s\n", argv[1]);

    for (;;) {
        struct sockaddr_in ca;
        socklen_t len = sizeof ca;
        int fd = accept(srv, (struct sockaddr *)&ca, &len);
        if (fd < 0) {
            perror("accept");
            continue;
        }
        struct client *c = calloc(1, sizeof *c);
        c->fd = fd;
        inet_ntop(AF_INET, &ca.sin_addr, c->ip, sizeof c->ip);
        c->port = ntohs(ca.sin_port);
        printf("connection from %s:%d\n", c->ip, c->port);
        pthread_t t;
        pthread_create(&t, NULL, handle, c);
        pthread_detach(t);
    }
}
