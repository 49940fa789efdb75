/// The program that runs inside the sandbox and executes cells for magi.
///
/// It talks to magi over two descriptors of its own, never stdout: requests arrive on fd 3 and
/// replies leave on fd 4, each a 4-byte big-endian length and that many bytes of JSON. A request is
/// `{"code": str, "cpu": seconds}`; a reply `{"value": repr or null, "error": traceback or null,
/// "limit": "memory", "disk", "processes" or null (a sandbox limit the cell hit), "images":
/// [{"path", "data" (base64) or null}]}`. The code's stdout and stderr are
/// fds 1 and 2 (flushed before the reply), so nothing it prints can forge a reply.
///
/// Before the first cell it closes every other inherited descriptor and sets its limits:
/// address space, processes, file size and open files from its arguments; the CPU limit is moved
/// before each cell to the time used so far plus the cell's allowance.
enum PythonDriver {
    static let source = #"""
        import ast, base64, errno, json, os, resource, struct, sys, traceback
        for fd in [int(name) for name in os.listdir('/proc/self/fd')]:
            if fd > 4:
                try: os.close(fd)
                except OSError: pass
        os.set_inheritable(3, False); os.set_inheritable(4, False)
        def limit(kind, n): resource.setrlimit(kind, (n, n))
        address, processes, file_size, open_files = (int(a) for a in sys.argv[1:5])
        limit(resource.RLIMIT_AS, address); limit(resource.RLIMIT_NPROC, processes)
        limit(resource.RLIMIT_FSIZE, file_size); limit(resource.RLIMIT_NOFILE, open_files); limit(resource.RLIMIT_CORE, 0)
        sys.argv = ['']
        IMAGES, MAX_IMAGES, MAX_IMAGE_BYTES, MAX_VALUE = ('.png', '.jpg', '.jpeg', '.gif'), 4, 4 << 20, 16 << 10

        def read_exact(n):
            data = b''
            while len(data) < n:
                chunk = os.read(3, n - len(data))
                if not chunk: os._exit(0)
                data += chunk
            return data

        def send(reply):
            data = json.dumps(reply).encode()
            data = struct.pack('>I', len(data)) + data
            while data: data = data[os.write(4, data):]

        def image_files(seen):
            """Image files under the working folder that are new or changed since the last cell."""
            found, scanned = [], 0
            for root, dirs, files in os.walk('.'):
                dirs[:] = [d for d in dirs if not d.startswith('.')][:50]
                if root.count(os.sep) > 3: dirs[:] = []
                for name in files:
                    scanned += 1
                    if scanned > 5000: return found
                    if not name.lower().endswith(IMAGES): continue
                    path = os.path.normpath(os.path.join(root, name))
                    try: stamp = os.stat(path).st_mtime_ns
                    except OSError: continue
                    if seen.get(path) != stamp:
                        seen[path] = stamp
                        found.append(path)
            return found

        def image(path):
            try:
                if os.path.getsize(path) <= MAX_IMAGE_BYTES:
                    with open(path, 'rb') as f: return {'path': path, 'data': base64.b64encode(f.read()).decode()}
            except (OSError, MemoryError): pass
            return {'path': path, 'data': None}

        def limit_hit(error):
            """The sandbox limit the cell hit: 'memory' or 'disk' behind `error` or an exception it came
            from, 'disk' too when the working folder is full (even if the code caught the error), and
            'processes' when the cell left the sandbox with as many tasks as it may have; else None."""
            seen = set()
            while error is not None and id(error) not in seen:
                seen.add(id(error))
                if isinstance(error, MemoryError): return 'memory'
                if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT): return 'disk'
                error = error.__cause__ or error.__context__
            try:
                disk = os.statvfs('/tmp')
                if disk.f_bavail * disk.f_frsize < (64 << 10): return 'disk'
            except OSError: pass
            if tasks() >= processes: return 'processes'
            return None

        def tasks():
            """The processes and threads running in the sandbox (its own PID namespace)."""
            count = 0
            for name in os.listdir('/proc'):
                if name.isdigit():
                    try: count += len(os.listdir('/proc/' + name + '/task'))
                    except OSError: pass
            return count

        def cell_traceback(error):
            tb = error.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != '<cell>': tb = tb.tb_next
            return ''.join(traceback.format_exception(type(error), error, tb))

        namespace, seen = {'__name__': '__main__', '__builtins__': __builtins__}, {}
        image_files(seen)
        while True:
            request = json.loads(read_exact(struct.unpack('>I', read_exact(4))[0]))
            used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            resource.setrlimit(resource.RLIMIT_CPU, (int(used) + request['cpu'], resource.RLIM_INFINITY))
            value = error = failure = None
            try:
                tree = ast.parse(request['code'], '<cell>')
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, '<cell>', 'exec'), namespace)
                if last is not None:
                    result = eval(compile(ast.Expression(last.value), '<cell>', 'eval'), namespace)
                    if result is not None: value = repr(result)[:MAX_VALUE]
            except SyntaxError as e:
                error = ''.join(traceback.format_exception_only(type(e), e))
            except BaseException as e:
                failure = e
                try: error = cell_traceback(e)
                except BaseException: error = type(e).__name__ + '\n'
            for stream in (sys.stdout, sys.stderr):
                try: stream.flush()
                except BaseException: pass
            try: hit = limit_hit(failure)
            except BaseException: hit = None
            failure = None
            try: images = [image(p) for p in image_files(seen)[:MAX_IMAGES]]
            except BaseException: images = []
            send({'value': value, 'error': error, 'limit': hit, 'images': images})
        """#
}
