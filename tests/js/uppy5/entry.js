// The Uppy 5 bundle for the browser tests (`uppy5.js`, see ../uppy/build.mjs): the same
// globals as ../uppy/entry.js, from this folder's own node_modules (@uppy/core 5 is a peer
// of @uppy/aws-s3 5, so it cannot share tests/js/node_modules with Uppy 6).
import AwsS3 from '@uppy/aws-s3';
import Uppy from '@uppy/core';

window.Uppy = Uppy;
window.AwsS3 = AwsS3;
window.UppyVersions = { core: Uppy.VERSION, awsS3: AwsS3.VERSION };
