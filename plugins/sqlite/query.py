#!/usr/bin/env python3
"""magi plugin: read-only SQLite queries. Reads {"database": "path", "query": "SQL"} (optionally
"max_rows" and "format") on stdin and writes {"result": ...} or {"error": "..."} on stdout.

Nothing can change the database, in four layers: the statement must be one SELECT, WITH, VALUES,
EXPLAIN or PRAGMA; the file is opened read-only (a `mode=ro` URI); the connection is `query_only`
and attaches nothing; and an authorizer denies every action but reading (no INSERT, UPDATE,
DELETE, CREATE, DROP, ALTER, ATTACH, transactions, pragmas that set something). A query stops after
TIME_LIMIT seconds."""
import json, os, re, sqlite3, sys, threading, time, urllib.parse

TIME_LIMIT = 10            # seconds a query may run (the manifest's timeout is longer)
DEFAULT_ROWS, MAX_ROWS = 200, 1000
COUNT_LIMIT = 100_000      # rows past those shown that are counted to say how many more there are
CELL_CHARS = 300           # a longer text value is cut
OUTPUT_CHARS = 60_000      # rows stop being added past this
HEADER = b"SQLite format 3\x00"

class Refused(Exception): pass

# Authorizer action codes (sqlite3.h), for the messages.
ACTIONS = {1: "CREATE INDEX", 2: "CREATE TABLE", 3: "CREATE TEMP INDEX", 4: "CREATE TEMP TABLE",
           5: "CREATE TEMP TRIGGER", 6: "CREATE TEMP VIEW", 7: "CREATE TRIGGER", 8: "CREATE VIEW", 9: "DELETE",
           10: "DROP INDEX", 11: "DROP TABLE", 12: "DROP TEMP INDEX", 13: "DROP TEMP TABLE", 14: "DROP TEMP TRIGGER",
           15: "DROP TEMP VIEW", 16: "DROP TRIGGER", 17: "DROP VIEW", 18: "INSERT", 19: "PRAGMA", 20: "READ",
           21: "SELECT", 22: "a transaction", 23: "UPDATE", 24: "ATTACH", 25: "DETACH", 26: "ALTER TABLE",
           27: "REINDEX", 28: "ANALYZE", 29: "CREATE VIRTUAL TABLE", 30: "DROP VIRTUAL TABLE", 31: "FUNCTION",
           32: "SAVEPOINT", 33: "RECURSIVE"}
PRAGMA, READ, SELECT, FUNCTION, RECURSIVE = 19, 20, 21, 31, 33
# Pragmas that only read: with an argument (the table or index they describe) or without.
PRAGMAS_WITH_ARGUMENT = {"table_info", "table_xinfo", "index_info", "index_xinfo", "index_list", "foreign_key_list",
                         "foreign_key_check", "integrity_check", "quick_check"}
PRAGMAS_READING = PRAGMAS_WITH_ARGUMENT | {
    "table_list", "database_list", "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
    "user_version", "schema_version", "application_id", "page_count", "page_size", "freelist_count", "max_page_count",
    "encoding", "foreign_keys", "journal_mode", "auto_vacuum", "data_version", "cache_size", "recursive_triggers",
    "synchronous", "temp_store", "query_only", "trusted_schema", "busy_timeout", "secure_delete", "cell_size_check"}
DENIED_FUNCTIONS = {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "sqlar_compress"}
STATEMENTS = ("SELECT", "WITH", "VALUES", "EXPLAIN", "PRAGMA")

def database_path(text):
    """The absolute path of the database file, checked to exist and to be an SQLite file."""
    if not isinstance(text, str) or not text.strip(): raise Refused("'database' must be the path of an SQLite file")
    if "\x00" in text: raise Refused("the database path contains a NUL character")
    path = os.path.expanduser(text.strip())
    if path.startswith("file:"): raise Refused("give the database as a plain file path, not a URI")
    if path == ":memory:": raise Refused("give the path of a database file; an in-memory database would be empty")
    if not os.path.isabs(path):
        # The plugin runs in its own folder: a relative path is relative to where magi was started.
        base = os.environ.get("PWD", "")
        if not os.path.isabs(base): raise Refused(f"'{text}' is a relative path; give the absolute path of the database")
        path = os.path.join(base, path)
    path = os.path.normpath(path)
    if not os.path.exists(path): raise Refused(f"no such file: {path}")
    if os.path.isdir(path): raise Refused(f"{path} is a folder, not a database file")
    try:
        with open(path, "rb") as f: header = f.read(len(HEADER))
    except OSError as e:
        raise Refused(f"cannot read {path}: {e.strerror}")
    if header and header != HEADER: raise Refused(f"{path} is not an SQLite database")
    return path

def skip_space_and_comments(sql, i):
    while i < len(sql):
        if sql[i].isspace(): i += 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = len(sql) if end < 0 else end + 2
        else: break
    return i

def end_of_statement(sql, i):
    """The index of the `;` that ends the statement starting at `i` (or len(sql)), skipping strings,
    quoted names and comments."""
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    while i < len(sql):
        c = sql[i]
        if c in closing:
            end = sql.find(closing[c], i + 1)
            while end >= 0 and c != "[" and sql.startswith(closing[c] * 2, end):   # '' inside '...'
                end = sql.find(closing[c], end + 2)
            i = len(sql) if end < 0 else end + 1
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            i = skip_space_and_comments(sql, i)
        elif c == ";": return i
        else: i += 1
    return i

def check_statement(sql):
    """Refuses what is not one reading statement, with a message saying what to do instead."""
    if not isinstance(sql, str) or not sql.strip(): raise Refused("'query' must be an SQL statement")
    if len(sql) > 100_000: raise Refused("the query is longer than 100000 characters")
    start = skip_space_and_comments(sql, 0)
    if start == len(sql): raise Refused("the query is only comments")
    if sql[start] == ".":
        raise Refused(f"'{sql.strip().split()[0]}' is a command of the sqlite3 shell, not SQL; to list the tables use "
                      "SELECT name, sql FROM sqlite_master WHERE type = 'table'")
    end = end_of_statement(sql, start)
    if skip_space_and_comments(sql, end + 1) < len(sql):
        raise Refused("only one statement may run per call; remove everything after the first ';'")
    word = re.match(r"[A-Za-z]+", sql[start:])
    keyword = word.group(0).upper() if word else sql[start:start + 10]
    if keyword not in STATEMENTS:
        raise Refused(f"this tool only reads, so {keyword} statements are not allowed; use one SELECT, WITH, VALUES, "
                      "EXPLAIN or PRAGMA (reading) statement")
    return sql[start:end]

class Guard:
    """The authorizer, and what it last refused."""
    def __init__(self):
        self.refusal = None

    def __call__(self, action, arg1, arg2, database, source):
        if action in (SELECT, READ, RECURSIVE): return sqlite3.SQLITE_OK
        if action == FUNCTION:
            if (arg2 or "").lower() not in DENIED_FUNCTIONS: return sqlite3.SQLITE_OK
            return self.deny(f"the function {arg2}() is not allowed")
        if action == PRAGMA:
            name = (arg1 or "").lower()
            if name in PRAGMAS_WITH_ARGUMENT or (name in PRAGMAS_READING and arg2 is None): return sqlite3.SQLITE_OK
            shown = f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else "")
            return self.deny(f"{shown} is not allowed: only pragmas that read, such as table_info(name), index_list(name), "
                             "table_list or user_version")
        what = ACTIONS.get(action, f"action {action}")
        target = f" on {arg1}" if arg1 and action in (9, 18, 23) else f" {arg1}" if arg1 and action not in (22, 24, 25) else ""
        return self.deny(f"{what}{target} is not allowed")

    def deny(self, reason):
        self.refusal = reason
        return sqlite3.SQLITE_DENY

def connect(path):
    def open_with(options):
        uri = "file:" + urllib.parse.quote(path) + "?" + options
        connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=3, check_same_thread=False)
        connection.text_factory = lambda b: b.decode("utf-8", "replace")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()   # fails now if it is not a database
        return connection
    try:
        connection = open_with("mode=ro")
    except sqlite3.DatabaseError as e:
        if "unable to open" not in str(e): raise Refused(database_error(path, e))
        try:   # a WAL database in a folder we cannot write to (it needs its -shm file): read it as immutable
            connection = open_with("mode=ro&immutable=1")
        except sqlite3.DatabaseError as e2:
            raise Refused(database_error(path, e2))
    for pragma in ("PRAGMA query_only = ON", "PRAGMA trusted_schema = OFF", "PRAGMA hard_heap_limit = 1073741824"):
        try: connection.execute(pragma)
        except sqlite3.DatabaseError: pass     # older SQLite: the other layers still hold
    try: connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    except (AttributeError, sqlite3.DatabaseError): pass
    return connection

def database_error(path, error):
    text = str(error)
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return f"{path} is not an SQLite database (or it is damaged): {text}"
    if "unable to open" in text: return f"cannot open {path}: {text}"
    return f"{path}: {text}"

def cell(value, limit=CELL_CHARS):
    if value is None: return "NULL"
    if isinstance(value, bytes):
        shown = value[:32].hex()
        return f"x'{shown}'" + (f"… ({len(value)} bytes)" if len(value) > 32 else "")
    if isinstance(value, float): return repr(value)
    if isinstance(value, int): return str(value)
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"

def table_cell(value):
    text = cell(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")

def json_cell(value):
    if value is None or isinstance(value, int): return value
    if isinstance(value, float): return value if value == value and abs(value) != float("inf") else repr(value)
    return cell(value)

def tables(connection):
    try:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                                  "AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 50")]
        return ", ".join(names) if names else "none"
    except sqlite3.DatabaseError:
        return None

def run(arguments):
    if not isinstance(arguments, dict): raise Refused("the arguments must be a JSON object")
    for key in ("database", "query"):
        if key not in arguments: raise Refused(f"'{key}' is required")
    max_rows = arguments.get("max_rows", DEFAULT_ROWS)
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= MAX_ROWS:
        raise Refused(f"'max_rows' must be a whole number from 1 to {MAX_ROWS}")
    form = arguments.get("format", "table")
    if form not in ("table", "json"): raise Refused("'format' must be 'table' or 'json'")
    statement = check_statement(arguments["query"])
    path = database_path(arguments["database"])
    connection = connect(path)
    guard = Guard()
    connection.set_authorizer(guard)
    deadline = time.monotonic() + TIME_LIMIT
    connection.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    watchdog = threading.Timer(TIME_LIMIT + 1, connection.interrupt)   # in case one step runs long between checks
    watchdog.daemon = True
    watchdog.start()
    stopped = f"the query ran longer than {TIME_LIMIT} s and was stopped; narrow it (WHERE, LIMIT) or simplify it"
    try:
        try:
            cursor = connection.execute(statement)
            rows = cursor.fetchmany(max_rows)
        except sqlite3.ProgrammingError as e:
            if "one statement" in str(e): raise Refused("only one statement may run per call; remove everything after the first ';'")
            raise Refused(f"SQL error: {e}")
        except sqlite3.DatabaseError as e:
            text = str(e)
            if "not authorized" in text:
                if guard.refusal and "sqlite_master" in guard.refusal and "pragma_" in statement.lower():
                    raise Refused("table-valued pragma functions such as pragma_table_info(...) are not available here; "
                                  "use the PRAGMA statement, such as PRAGMA table_info(name)")
                raise Refused(f"refused, this tool only reads: {guard.refusal or text}")
            if "interrupted" in text: raise Refused(stopped)
            if "readonly" in text or "read-only" in text: raise Refused("refused: the database is open read-only")
            if "no such table" in text and (known := tables(connection)) is not None:
                raise Refused(f"SQL error: {text} (the tables and views: {known})")
            if "not a database" in text or "malformed" in text: raise Refused(database_error(path, e))
            raise Refused(f"SQL error: {text}")
        columns = [d[0] for d in cursor.description] if cursor.description else []
        more, more_is_lower_bound = 0, False
        if len(rows) == max_rows:
            try:
                while more <= COUNT_LIMIT:
                    batch = cursor.fetchmany(1000)
                    if not batch: break
                    more += len(batch)
                else:
                    more_is_lower_bound = True
            except sqlite3.DatabaseError:       # out of time while counting: say at least how many
                more_is_lower_bound = True
    finally:
        watchdog.cancel()
        connection.close()
    if form == "json":
        return {"columns": columns, "rows": [[json_cell(v) for v in row] for row in rows],
                "more_rows": more, "more_rows_is_lower_bound": more_is_lower_bound}
    return render(columns, rows, more, more_is_lower_bound)

def render(columns, rows, more, more_is_lower_bound):
    if not columns: return "the statement ran and returned no columns"
    lines = ["| " + " | ".join(table_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    size, shown = sum(map(len, lines)), 0
    for row in rows:
        line = "| " + " | ".join(table_cell(v) for v in row) + " |"
        if size + len(line) > OUTPUT_CHARS: break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    total = len(rows) + more
    if not rows:
        lines.append("(no rows)")
    elif shown == total:
        lines.append(f"({total} row{'s' if total != 1 else ''})")
    else:
        in_all = f"more than {total}" if more_is_lower_bound else f"{total}"
        why = " (the output is limited in size)" if shown < len(rows) else ""
        lines.append(f"(the first {shown} rows of {in_all}{why}; use LIMIT/OFFSET, a narrower WHERE or an aggregate to see the others)")
    return "\n".join(lines)

def main():
    try:
        result = run(json.loads(sys.stdin.read()))
        print(json.dumps({"result": result}, ensure_ascii=False))
    except Refused as e:
        print(json.dumps({"error": str(e)}, ensure_ascii=False))
    except (ValueError, TypeError) as e:
        print(json.dumps({"error": f"invalid arguments: {e}"}, ensure_ascii=False))
    except sqlite3.Error as e:
        print(json.dumps({"error": f"SQLite error: {e}"}, ensure_ascii=False))

if __name__ == "__main__":
    main()
