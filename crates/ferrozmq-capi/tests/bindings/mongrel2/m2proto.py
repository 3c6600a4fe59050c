"""What handler.py, the control-port client and driver.py share, without
importing zmq (driver.py must not load any libzmq itself)."""


def tnetstring_parse(data, i=0):
    """Returns (value, next index) of the tnetstring at data[i:]."""
    colon = data.index(b":", i)
    n = int(data[i:colon])
    payload = data[colon + 1 : colon + 1 + n]
    tag = data[colon + 1 + n : colon + 2 + n]
    end = colon + 2 + n
    if tag == b",":
        return payload, end
    if tag == b"#":
        return int(payload), end
    if tag == b"!":
        return payload == b"true", end
    if tag == b"~":
        return None, end
    if tag == b"}":
        d, j = {}, 0
        while j < len(payload):
            k, j = tnetstring_parse(payload, j)
            v, j = tnetstring_parse(payload, j)
            d[k.decode()] = v.decode() if isinstance(v, bytes) else v
        return d, end
    if tag == b"]":
        items, j = [], 0
        while j < len(payload):
            v, j = tnetstring_parse(payload, j)
            items.append(v)
        return items, end
    raise ValueError("bad tnetstring tag %r" % tag)


def big_body(n):
    pattern = b"ferrozmq-mongrel2-0123456789abcdefghijklmnopqrstuvwxyz\n"
    return (pattern * (n // len(pattern) + 1))[:n]
