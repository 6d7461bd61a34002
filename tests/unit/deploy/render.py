"""Render deploy/ the way ``kubectl kustomize`` does, for the tests.

kubectl is not a Debian package, so the tests cannot count on it; this
renders the subset of kustomize that deploy/ uses (``resources``: files
and directories, ``namespace``, ``images``) and refuses anything else, so
a kustomization that grows a feature fails here loudly instead of being
rendered wrongly. Where kubectl is installed, the tests compare both
renderings.
"""

import os
import shutil
import subprocess

import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
DEPLOY = os.path.join(REPO, 'deploy')
OVERLAYS = ('macvlan', 'bridge')
SUPPORTED = {'apiVersion', 'kind', 'resources', 'namespace', 'images'}
# Kinds kustomize leaves without a namespace.
CLUSTER_SCOPED = {'Namespace', 'ClusterRole', 'ClusterRoleBinding',
                  'CustomResourceDefinition', 'PriorityClass',
                  'StorageClass', 'PersistentVolume'}


class RenderError(Exception):
    """A kustomization this renderer does not understand."""


def overlay_dir(name):
    """The directory of overlay ``name`` (macvlan, bridge)."""
    return os.path.join(DEPLOY, 'overlays', name)


def render(directory):
    """The objects of the kustomization in ``directory`` (list of dicts)."""
    with open(os.path.join(directory, 'kustomization.yaml')) as f:
        kust = yaml.safe_load(f)
    unknown = set(kust) - SUPPORTED
    if unknown:
        raise RenderError('%s: unsupported kustomization fields %s'
                          % (directory, sorted(unknown)))
    objects = []
    for res in kust.get('resources', []):
        path = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(path):
            objects.extend(render(path))
        else:
            with open(path) as f:
                objects.extend(d for d in yaml.safe_load_all(f) if d)
    if 'namespace' in kust:
        for obj in objects:
            _set_namespace(obj, kust['namespace'])
    for image in kust.get('images', []):
        for obj in objects:
            _set_image(obj, image)
    return objects


def _set_namespace(obj, namespace):
    if obj['kind'] == 'Namespace':
        obj['metadata']['name'] = namespace
    elif obj['kind'] not in CLUSTER_SCOPED:
        obj['metadata']['namespace'] = namespace


def _set_image(obj, image):
    spec = obj.get('spec', {}).get('template', {}).get('spec', {})
    for c in spec.get('containers', []) + spec.get('initContainers', []):
        name = c['image'].split('@')[0].rsplit(':', 1)[0]
        if name == image['name']:
            new = image.get('newName', name)
            if 'newTag' in image:
                new += ':' + image['newTag']
            c['image'] = new


def kubectl_render(directory):
    """``kubectl kustomize directory`` as objects; None without kubectl."""
    kubectl = shutil.which('kubectl')
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, 'kustomize', directory], check=True,
                         timeout=60, stdout=subprocess.PIPE, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def container(workload, name):
    """The container (or init container) ``name`` of a workload."""
    spec = workload['spec']['template']['spec']
    found = [c for c in spec['containers'] + spec.get('initContainers', [])
             if c['name'] == name]
    if len(found) != 1:
        raise LookupError('%d containers %s' % (len(found), name))
    return found[0]


def find(objects, kind, name=None):
    """The one object of ``kind`` (and ``name``) among ``objects``."""
    found = [o for o in objects if o['kind'] == kind
             and (name is None or o['metadata']['name'] == name)]
    if len(found) != 1:
        raise LookupError('%d objects %s %s' % (len(found), kind, name))
    return found[0]
