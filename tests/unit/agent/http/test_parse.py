"""The strict request-head and chunked-framing parser, case by case."""

import pytest

from vmetal_ironic.agent.http import parse

GOOD = b'GET /boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\n'


def test_a_valid_head():
    head = parse.parse_head(b'\r\nPOST /v1/lookup?a=1 HTTP/1.1\r\n'
                            b'Host: x\r\nContent-Length: 007\r\n'
                            b'X-Y:  a b \t\r\nConnection: close\r\n\r\n')
    assert (head.method, head.target, head.version) == (
        'POST', '/v1/lookup?a=1', 'HTTP/1.1')
    assert (head.content_length, head.chunked, head.keep_alive) == (
        7, False, False)
    assert head.fields.get('x-y') == 'a b'
    assert head.fields.items()[0] == ('Host', 'x')


@pytest.mark.parametrize('data,status', [
    (b'GET /a HTTP/1.1\nHost: x\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost : x\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n', 400),
    (b'GET /a?b\x01c HTTP/1.1\r\nHost: x\r\n\r\n', 400),
    (b'GET /a#f HTTP/1.1\r\nHost: x\r\n\r\n', 400),
    (b'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400),
    (b'GET  /a HTTP/1.1\r\nHost: x\r\n\r\n', 400),
    (b'G(T /a HTTP/1.1\r\nHost: x\r\n\r\n', 400),
    (b'GET /a HTTP/2.0\r\nHost: x\r\n\r\n', 505),
    (b'GET /a HTTP/1.10\r\nHost: x\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\n\r\n', 400),
    (b'GET /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked'
     b'\r\n\r\n', 501),
    (b'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3,3\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1' + b'0' * 19 +
     b'\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\n' + b'X: y\r\n' * 65 + b'Host: x\r\n\r\n', 400),
    (b'GET /a HTTP/1.1\r\nHost: x\r\n' + b'X: ' + b'y' * 16384 + b'\r\n\r\n',
     431),
])
def test_refused_heads(data, status):
    result = parse.parse_head(data)
    assert isinstance(result, parse.Invalid)
    assert result.status == status


def test_http10_keep_alive_only_when_asked():
    assert not parse.parse_head(b'GET / HTTP/1.0\r\n\r\n').keep_alive
    assert parse.parse_head(b'GET / HTTP/1.0\r\nConnection: Keep-Alive'
                            b'\r\n\r\n').keep_alive


@pytest.mark.parametrize('data,end', [
    (GOOD, len(GOOD)), (GOOD + b'body', len(GOOD)), (GOOD[:-1], None),
    (GOOD[:-2], None), (b'\r\n\r\n' + GOOD, len(GOOD) + 4), (b'', None),
    (b'GET / HTTP/1.1\nHost', -1), (b'GET / HTTP/1.1\rX', -1),
    (b'x' * parse.MAX_HEAD_SIZE, -1),
])
def test_head_end(data, end):
    assert parse.head_end(data) == end


@pytest.mark.parametrize('line,size', [
    (b'0\r\n', 0), (b'1a\r\n', 26), (b'A;x=y\r\n', 10),
    (b'4 ; name = "q\\"v"\r\n', 4), (b'000000000000000f\r\n', 15),
])
def test_chunk_size(line, size):
    assert parse.chunk_size(line) == size


@pytest.mark.parametrize('line', [
    b'-1\r\n', b'0x4\r\n', b'+4\r\n', b' 4\r\n', b'4\n', b'4', b'\r\n',
    b'4;\r\n', b'4;a=\r\n', b'11111111111111111\r\n', b'4\x00\r\n',
    b'4;a="b\r\n',
])
def test_bad_chunk_size(line):
    assert isinstance(parse.chunk_size(line), parse.Invalid)


def test_trailer_lines():
    assert parse.trailer_line(b'\r\n') is True
    assert parse.trailer_line(b'X-Sum: 1\r\n') is False
    for bad in (b'X-Sum 1\r\n', b' folded\r\n', b'X: a\n', b'X: \x01\r\n'):
        assert isinstance(parse.trailer_line(bad), parse.Invalid)
