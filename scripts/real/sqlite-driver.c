/* SQLite driver for scripts/real-build.sh: a real SQL workload on an in-memory database
 * (create, insert, index, update, delete, joins, aggregates, a recursive CTE, string and date-free
 * functions, a transaction rolled back) whose printed results are the functional oracle: an image
 * linked with an emitted script must print exactly what the normal link of the same SQLite
 * version prints. Compiled once (against one sqlite3.h) for all versions.
 *
 * Loop mode (issue 13, `spacer-sim run`): with SPACER_DRIVER_LOOP=N in the environment the
 * workload runs N times (0: until the process is stopped), stdout carries the oracle output of the
 * first run only (so it is the same as without the variable), and stderr one line per run,
 * "iteration K ns T", its wall-clock time (CLOCK_MONOTONIC). With SPACER_DRIVER_IDLE=1 as well,
 * the process then waits (pause) until it is stopped, its memory unchanged: what `run` measures
 * when the pages must be stable for KSM. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "sqlite3.h"

static int quiet;   /* after the first run of loop mode: print nothing on stdout */
#define printf(...) (quiet ? 0 : printf(__VA_ARGS__))

static int row(void *tag, int n, char **v, char **col) {
    printf("%s:", (const char *)tag);
    for (int i = 0; i < n; i++) printf(" %s=%s", col[i], v[i] ? v[i] : "NULL");
    printf("\n");
    return 0;
}

static int run(sqlite3 *db, const char *tag, const char *sql) {
    char *err = 0;
    if (sqlite3_exec(db, sql, row, (void *)tag, &err) != SQLITE_OK) {
        printf("%s: error %s\n", tag, err ? err : "?");
        sqlite3_free(err);
        return 1;
    }
    return 0;
}

static int workload(void) {
    sqlite3 *db;
    printf("sqlite %s\n", sqlite3_libversion());
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return printf("open failed\n"), 1;
    int bad = 0;
    bad |= run(db, "create", "CREATE TABLE city(id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT, pop INTEGER);"
                             "CREATE TABLE visit(city INTEGER REFERENCES city(id), year INTEGER, n INTEGER);"
                             "CREATE INDEX visit_year ON visit(year);");
    bad |= run(db, "insert", "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 500)"
                             " INSERT INTO city SELECT i, 'city' || i, CASE i % 4 WHEN 0 THEN 'BE' WHEN 1 THEN 'FR' WHEN 2 THEN 'DE' ELSE 'NL' END,"
                             " (i * 7919) % 100000 FROM k;"
                             "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 3000)"
                             " INSERT INTO visit SELECT (i * 37) % 500 + 1, 2000 + i % 25, (i * 13) % 97 FROM k;");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO city(name, country, pop) VALUES (?1, ?2, ?3)", -1, &st, 0) != SQLITE_OK) return printf("prepare failed\n"), 1;
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "bound-%02d", i);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, i % 2 ? "LU" : "CH", -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, i * 1000 + 7);
        if (sqlite3_step(st) != SQLITE_DONE) bad = 1;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bad |= run(db, "count", "SELECT count(*) AS cities, sum(pop) AS people, max(length(name)) AS longest FROM city;");
    bad |= run(db, "by-country", "SELECT country, count(*) AS n, avg(pop) AS mean, min(name) AS first FROM city GROUP BY country ORDER BY country;");
    bad |= run(db, "join", "SELECT c.country, v.year, sum(v.n) AS visits FROM visit v JOIN city c ON c.id = v.city"
                           " WHERE v.year BETWEEN 2010 AND 2013 GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 12;");
    bad |= run(db, "update", "UPDATE city SET pop = pop + 1 WHERE id % 3 = 0; DELETE FROM visit WHERE n < 10;"
                             "SELECT changes() AS deleted, total_changes() AS total;");
    bad |= run(db, "top", "SELECT upper(name) AS n, printf('%08.2f', pop / 3.0) AS third, substr(country, 1, 1) AS c"
                          " FROM city ORDER BY pop DESC, id LIMIT 8;");
    bad |= run(db, "window", "SELECT year, sum(n) AS s, rank() OVER (ORDER BY sum(n) DESC) AS r FROM visit GROUP BY year ORDER BY year LIMIT 6;");
    bad |= run(db, "like", "SELECT count(*) AS n FROM city WHERE name LIKE 'city1%' OR name GLOB 'bound-4?';");
    bad |= run(db, "txn", "BEGIN; DELETE FROM city; ROLLBACK; SELECT count(*) AS still FROM city;");
    bad |= run(db, "integrity", "PRAGMA integrity_check;");
    bad |= run(db, "hex", "SELECT hex(zeroblob(4)) AS z, quote('it''s') AS q, typeof(1.5) AS t, abs(-7) AS a, coalesce(NULL, 'x') AS c;");
    sqlite3_close(db);
    return bad;
}

#undef printf
int main(void) {
    const char *loop = getenv("SPACER_DRIVER_LOOP");
    if (!loop) return workload();
    long n = strtol(loop, 0, 10);
    int bad = 0;
    for (long k = 0; n <= 0 || k < n; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        bad |= workload();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        quiet = 1;
        fflush(stdout);
        fprintf(stderr, "iteration %ld ns %lld\n", k, (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
    }
    const char *idle = getenv("SPACER_DRIVER_IDLE");
    if (idle && *idle == '1') for (;;) pause();
    return bad;
}
