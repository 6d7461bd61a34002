"""Config drive injection."""

import base64
import gzip
import os
import shutil
import subprocess

from openstack.baremetal import configdrive as os_configdrive
import pytest

from vmetal_ironic.network import configdrive

from tests.fixtures import network as fixtures

ND = {'links': [{'id': 'p', 'type': 'phy',
                 'ethernet_mac_address': '52:54:00:aa:00:01'}],
      'networks': [], 'services': []}

need_mkisofs = pytest.mark.skipif(
    not (shutil.which('mkisofs') or shutil.which('genisoimage')),
    reason='mkisofs/genisoimage (Debian package genisoimage) is needed to '
           'build ISO config drives')


def test_no_configdrive_gets_one():
    value, action = configdrive.with_network_data(
        None, ND, fixtures.NODE, hostname='node-1')
    assert action == configdrive.CREATED
    assert value == {'meta_data': {'uuid': fixtures.NODE,
                                   'hostname': 'node-1', 'name': 'node-1'},
                     'network_data': ND}


def test_dict_without_network_data_gets_it():
    user = {'user_data': '#cloud-config\n', 'meta_data': {'foo': 'bar'}}
    value, action = configdrive.with_network_data(user, ND, fixtures.NODE)
    assert action == configdrive.ADDED
    assert value == dict(user, network_data=ND)
    assert 'network_data' not in user


def test_dict_with_network_data_is_the_users():
    user = {'network_data': {'links': [], 'networks': [], 'services': []}}
    value, action = configdrive.with_network_data(user, ND, fixtures.NODE)
    assert action == configdrive.UNCHANGED
    assert value is user


@pytest.mark.parametrize('url', ['http://example.invalid/cd.iso',
                                 'https://x/y', 'swift://c/o'])
def test_url_left_alone(url, caplog):
    value, action = configdrive.with_network_data(url, ND, fixtures.NODE)
    assert (value, action) == (url, configdrive.SKIPPED)
    assert fixtures.NODE in caplog.text


def test_garbage_left_alone():
    value, action = configdrive.with_network_data('bm90IGd6aXA=', ND,
                                                  fixtures.NODE)
    assert action == configdrive.SKIPPED


@need_mkisofs
def test_iso_network_data_replaced():
    iso = os_configdrive.build({'uuid': fixtures.NODE},
                               user_data=b'#!/bin/sh\n',
                               network_data={'links': [], 'networks': [],
                                             'services': []})
    value, action = configdrive.with_network_data(iso, ND, fixtures.NODE)
    assert action == configdrive.REPLACED
    assert configdrive.read_network_data(value) == ND
    raw = configdrive.decode_iso(value)
    assert configdrive.read_iso_file(
        raw, '/openstack/latest/user_data') == b'#!/bin/sh\n'
    # Already right: not rebuilt again.
    again, action = configdrive.with_network_data(value, ND, fixtures.NODE)
    assert (again, action) == (value, configdrive.UNCHANGED)


def _iso(tmp_path, files):
    root = tmp_path / 'root'
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    tool = shutil.which('genisoimage') or shutil.which('mkisofs')
    subprocess.run([tool, '-o', str(tmp_path / 'cd.iso'), '-quiet', '-J',
                    '-r', '-V', 'config-2', str(root)], check=True)
    data = (tmp_path / 'cd.iso').read_bytes()
    return base64.b64encode(gzip.compress(data)).decode()


@need_mkisofs
def test_iso_without_network_data_gets_it(tmp_path):
    iso = _iso(tmp_path, {'openstack/latest/meta_data.json': '{}'})
    assert configdrive.read_network_data(iso) is None
    value, action = configdrive.with_network_data(iso, ND, fixtures.NODE)
    assert action == configdrive.REPLACED
    assert configdrive.read_network_data(value) == ND


@need_mkisofs
def test_iso_with_broken_network_data_replaced(tmp_path):
    iso = _iso(tmp_path, {'openstack/latest/meta_data.json': '{}',
                          'openstack/latest/network_data.json': '{nope'})
    value, action = configdrive.with_network_data(iso, ND, fixtures.NODE)
    assert action == configdrive.REPLACED
    assert configdrive.read_network_data(value) == ND


@need_mkisofs
def test_iso_that_is_no_config_drive_left_alone(tmp_path, caplog):
    iso = _iso(tmp_path, {'README': 'hello'})
    value, action = configdrive.with_network_data(iso, ND, fixtures.NODE)
    assert (value, action) == (iso, configdrive.SKIPPED)
    assert 'not an OpenStack config drive' in caplog.text
    assert os.path.exists(str(tmp_path / 'cd.iso'))
